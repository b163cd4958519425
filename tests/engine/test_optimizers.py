"""The subject's optimizers beside AdamW: LAMB's step checked against one computed by hand, and each of
Adam, LAMB and Adafactor training a small model and resuming exactly from its checkpointed state."""

import math

import numpy as np
import pytest
import torch

from engine.train.lamb import Lamb
from tests.conftest import tiny_config
from tests.engine.test_training import step_losses, train


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


@pytest.mark.parametrize("name", ["adam", "lamb", "adafactor", "muon"])
def test_each_optimizer_trains_and_resumes_exactly(tmp_path, tiny_text, name):
    # LAMB moves each tensor by lr x its own norm
    lr = {"adam": 1e-2, "lamb": 5e-2, "adafactor": 5e-2, "muon": 1e-2}[name]
    extra = {"optimizer": name, "max_steps": 30, "eval_interval": 10, "checkpoint_interval": 10, "lr": lr,
             "min_lr": lr / 10}
    whole = tiny_config(tiny_text, tmp_path / "a", train=extra | {"out_dir": str(tmp_path / "whole")})
    train(whole)
    losses = step_losses(tmp_path / "whole")
    assert np.mean([losses[s] for s in range(26, 31)]) < np.mean([losses[s] for s in range(1, 6)]) - 0.3
    part = tiny_config(tiny_text, tmp_path / "b", train=extra | {"out_dir": str(tmp_path / "part")})
    train(part, stop_at=13)
    train(part, resume=True)
    resumed = step_losses(tmp_path / "part")
    assert [resumed[s] for s in range(11, 31)] == pytest.approx([losses[s] for s in range(11, 31)], abs=1e-6)


def test_muon_orthogonalizes_its_step():
    from engine.train.muon import orthogonalize

    torch.manual_seed(0)
    for shape in ((32, 64), (64, 32)):
        g = torch.randn(*shape) @ torch.diag(torch.logspace(-1, 1, shape[1]))[: shape[1], : shape[1]]
        s = torch.linalg.svdvals(g)
        assert s.max() / s.min() > 30  # a badly conditioned gradient ...
        o = orthogonalize(g)
        so = torch.linalg.svdvals(o)
        assert so.min() > 0.6 and so.max() < 1.25  # ... moves every direction by about the same amount
        u, _, vt = torch.linalg.svd(g, full_matrices=False)
        d = u.T @ o @ vt.T  # along g's own singular vectors: diagonal in g's bases
        assert (d - torch.diag(torch.diagonal(d))).abs().max() < 1e-3
        assert torch.diagonal(d).min() > 0.6


def test_muon_takes_the_blocks_matrices_and_adamw_the_rest():
    from engine.model.gpt import GPT, GPTConfig
    from engine.train.muon import Muon, muon_groups

    model = GPT(GPTConfig(vocab_size=20, block_size=8, n_layer=2, n_head=2, n_embd=16))
    groups = muon_groups(model, 0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    muon = sorted(names[id(p)] for p in groups[0]["params"])
    assert muon == sorted(n for n, p in model.named_parameters() if n.startswith("h.") and p.ndim == 2)
    assert "wte.weight" in {names[id(p)] for p in groups[1]["params"]}  # the embedding (and tied head)
    assert all(p.ndim == 1 for p in groups[2]["params"]) and groups[2]["weight_decay"] == 0.0
    opt = Muon(groups, lr=0.02, betas=(0.9, 0.99))
    w = model.h[0].attn.c_attn.weight
    before = w.detach().clone()
    loss = model(torch.randint(0, 20, (2, 8)), torch.randint(0, 20, (2, 8)))[1]
    loss.backward()
    g = w.grad.clone()
    opt.step()
    from engine.train.muon import iteration_dtype, orthogonalize

    # the first nesterov momentum: g lerp (0.05 g) by 0.95, iterated in the CPU's dtype
    step = orthogonalize(g * (1 - 0.95) * 0.95 + g * 0.05, dtype=iteration_dtype(w.device))
    expected = before * (1 - 0.02 * 0.1) - 0.02 * 0.2 * math.sqrt(max(w.shape)) * step
    assert torch.allclose(w.detach(), expected, atol=1e-5)
    assert set(opt.state[w]) == {"momentum_buffer"} and "exp_avg" in opt.state[model.wte.weight]


@pytest.mark.parametrize("bf16, amx, expected", [(False, False, torch.float32), (True, False, torch.bfloat16),
                                                 (False, True, torch.bfloat16)])
def test_muon_iterates_in_bfloat16_only_where_the_cpu_multiplies_it(monkeypatch, bf16, amx, expected):
    """An AVX2-only CPU emulates bfloat16 products 20-35 times slower: there the iteration stays in float32."""
    from engine.train.muon import iteration_dtype

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: bf16, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    assert iteration_dtype(torch.device("cpu")) == expected
    assert iteration_dtype(torch.device("cuda")) == torch.bfloat16
