"""LAMB (engine/train/lamb.py): Adam's step scaled by each tensor's trust ratio."""

import math

import numpy as np
import torch

from engine.train.lamb import Lamb


def test_a_lamb_step_is_adams_step_scaled_by_the_trust_ratio():
    w0 = np.array([[0.5, -1.0], [2.0, 0.25]])
    g = np.array([[0.1, 0.2], [-0.3, 0.4]])
    lr, b1, b2, eps, wd = 0.01, 0.9, 0.99, 1e-6, 0.1
    # by hand: the first step's bias-corrected moments are g and g², so Adam's direction is g / (|g| + eps)
    m_hat, v_hat = g, g * g
    update = m_hat / (np.sqrt(v_hat) + eps) + wd * w0
    trust = np.linalg.norm(w0) / np.linalg.norm(update)
    expected = w0 - lr * trust * update
    p = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    opt = Lamb([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    p.grad = torch.tensor(g, dtype=torch.float64)
    opt.step()
    assert np.allclose(p.detach().numpy(), expected, atol=1e-12)
    assert not math.isclose(trust, 1.0)  # the ratio did something


def test_lamb_leaves_a_zero_tensor_to_adams_step():
    p = torch.nn.Parameter(torch.zeros(3))
    opt = Lamb([p], lr=0.1)
    p.grad = torch.tensor([1.0, -2.0, 0.5])
    opt.step()
    assert torch.allclose(p.detach(), torch.tensor([-0.1, 0.1, -0.1]), atol=1e-5)  # trust ratio 1
