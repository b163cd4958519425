"""The output layer's loss in slices: the same loss and gradients as the plain cross-entropy."""

import pytest
import torch
from torch.nn import functional as F

from engine.model import linear_loss
from engine.model.build import build_model
from engine.model.gpt import GPTConfig
from engine.model.linear_loss import linear_cross_entropy


def _case(n=37, c=16, v=101, ignored=(0, 5)):
    torch.manual_seed(0)
    x = torch.randn(n, c, requires_grad=True)
    w = (0.3 * torch.randn(v, c)).requires_grad_()
    t = torch.randint(0, v, (n,))
    t[list(ignored)] = -100
    return x, w, t


def _grads(loss, *tensors):
    return torch.autograd.grad(loss, tensors)


@pytest.mark.parametrize("rows", [1, 5, 37, 64])
def test_matches_cross_entropy_for_any_slice_size(rows):
    x, w, t = _case()
    plain = F.cross_entropy(x @ w.t(), t, ignore_index=-100)
    sliced = linear_cross_entropy(x, w, t, slice_rows=rows)
    torch.testing.assert_close(sliced, plain)
    for a, b in zip(_grads(sliced, x, w), _grads(plain, x, w)):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("rows", [1, 8, 64])
def test_label_smoothing_matches_cross_entropys(rows):
    x, w, t = _case()
    plain = F.cross_entropy(x @ w.t(), t, ignore_index=-100, label_smoothing=0.1)
    sliced = linear_cross_entropy(x, w, t, slice_rows=rows, label_smoothing=0.1)
    torch.testing.assert_close(sliced, plain)
    for a, b in zip(_grads(sliced, x, w), _grads(plain, x, w)):
        torch.testing.assert_close(a, b)


def test_upstream_gradient_scales_the_stored_gradients():
    x, w, t = _case()
    (g_plain,) = _grads(3.0 * F.cross_entropy(x @ w.t(), t), w)
    (g_sliced,) = _grads(3.0 * linear_cross_entropy(x, w, t, slice_rows=8), w)
    torch.testing.assert_close(g_sliced, g_plain)


def test_bf16_autocast_stays_close_and_keeps_dtypes():
    x, w, t = _case(n=64, c=32, v=300, ignored=())
    plain = F.cross_entropy(x @ w.t(), t)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        sliced = linear_cross_entropy(x, w, t, slice_rows=16)
    gx, gw = _grads(sliced, x, w)
    assert sliced.dtype == gx.dtype == gw.dtype == torch.float32
    torch.testing.assert_close(sliced, plain, atol=0.03, rtol=0.01)
    torch.testing.assert_close(gw, _grads(plain, w)[0], atol=2e-3, rtol=0.05)


def test_all_targets_ignored_gives_zero_not_nan():
    x, w, t = _case(n=4, ignored=(0, 1, 2, 3))
    loss = linear_cross_entropy(x, w, t, slice_rows=2)
    assert loss.item() == 0.0 and torch.isfinite(_grads(loss, w)[0]).all()


def test_gpt_training_forward_slices_big_logits_with_the_same_result(monkeypatch):
    model = build_model(GPTConfig(vocab_size=97, block_size=16, n_layer=2, n_head=2, n_embd=32))
    idx, targets = torch.randint(0, 97, (3, 16)), torch.randint(0, 97, (3, 16))
    logits, plain = model(idx, targets)
    assert logits is not None
    expected = _grads(plain, model.wte.weight, model.h[0].attn.c_attn.weight)
    monkeypatch.setattr(linear_loss, "MIN_LOGIT_BYTES", 0)
    logits, sliced = model(idx, targets)
    assert logits is None  # training with sliced logits returns only the loss
    torch.testing.assert_close(sliced, plain)
    for a, b in zip(_grads(sliced, model.wte.weight, model.h[0].attn.c_attn.weight), expected):
        torch.testing.assert_close(a, b)
    with torch.no_grad():  # evaluation keeps the logits
        assert model(idx, targets)[0].shape == (3, 16, 97)


def test_an_encoder_decoders_training_forward_slices_its_target_logits_with_label_smoothing(monkeypatch):
    from engine.config.schema import ModelConfig
    from engine.model.build import gpt_config

    torch.manual_seed(0)
    model = build_model(gpt_config(ModelConfig(n_layer=2, n_encoder_layer=2, n_head=2, n_embd=32, block_size=16),
                                   97, arch="t5"))
    model.label_smoothing = 0.1
    src, tgt = torch.randint(0, 97, (3, 12)), torch.randint(0, 97, (3, 9))
    targets = tgt.roll(-1, 1)
    targets[2, 6:] = -100
    lengths = torch.tensor([12, 10, 7])
    logits, plain = model(src, tgt, targets, src_lengths=lengths)
    assert logits is not None
    weights = model.wte.weight, model.decoder.h[0].cross_attn.q.weight
    expected = _grads(plain, *weights)
    monkeypatch.setattr(linear_loss, "MIN_LOGIT_BYTES", 0)
    logits, sliced = model(src, tgt, targets, src_lengths=lengths)
    assert logits is None
    torch.testing.assert_close(sliced, plain)
    for a, b in zip(_grads(sliced, *weights), expected):
        torch.testing.assert_close(a, b)


def test_gpt_sized_logits_are_sliced_only_when_big():
    head = torch.nn.Linear(768, 50257, bias=False)
    x = torch.zeros(16, 1024, 768)
    assert linear_loss.wants_slices(head, x)
    assert not linear_loss.wants_slices(head, x[:1, :64])
    assert not linear_loss.wants_slices(torch.nn.Linear(768, 50257), x)  # a head with a bias keeps its forward


def test_the_memory_estimate_counts_slices_once_the_logits_are_big():
    from engine.config.schema import from_dict
    from engine.plan.estimate import MIN_LOGIT_BYTES, SLICE_LOGIT_BYTES, logit_memory

    gpt2 = from_dict({"model": {"n_layer": 12, "n_head": 12, "n_embd": 768, "block_size": 1024},
                      "train": {"batch_size": 2}})
    rows = 2 * 1024
    assert rows * 50257 * 4 >= MIN_LOGIT_BYTES
    assert logit_memory(gpt2, 50257) == 2 * SLICE_LOGIT_BYTES + rows * 768 * 4 + 50257 * 768 * 4
    gpt2.model.objective = "masked"  # an encoder's masked-LM head keeps whole logits, at the masked positions
    assert logit_memory(gpt2, 50257) == int(rows * 0.15) * 50257 * 4 * 2
    gpt2.model.objective, gpt2.model.target_block_size = "seq2seq", 64  # the target's rows, whole while small
    assert logit_memory(gpt2, 50257) == 2 * 64 * 50257 * 4 * 2
    gpt2.train.batch_size = 32
    assert logit_memory(gpt2, 50257) == 2 * SLICE_LOGIT_BYTES + 32 * 64 * 768 * 4 + 50257 * 768 * 4
    baby = from_dict({"model": {"block_size": 64}, "train": {"batch_size": 12}})
    assert logit_memory(baby, 65) == 12 * 64 * 65 * 4 * 2


def test_a_frozen_head_gets_no_gradient_and_the_input_still_does():
    x, w, t = _case()
    w.requires_grad_(False)
    (gx,) = _grads(linear_cross_entropy(x, w, t, slice_rows=8), x)
    torch.testing.assert_close(gx, _grads(F.cross_entropy(x @ w.t(), t), x)[0])
