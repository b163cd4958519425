"""Muon (engine/train/muon.py): orthogonalized steps for the blocks' matrices, AdamW for the rest."""

import math

import pytest
import torch


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


MIXED_SHAPES = ((16, 48), (48, 16), (16, 48), (16, 16), (32, 16), (16, 16), (8, 24), (24, 8), (8, 24))
"""Wide, tall (joining the wide ones of their shape, transposed), square, and shapes met once."""


@pytest.mark.parametrize("dtype, tolerance", [(torch.float32, 1e-5), (torch.bfloat16, 3e-2)])
def test_stacked_orthogonalization_equals_one_matrix_at_a_time(dtype, tolerance):
    """And both equal the iteration as first written, computed exactly; in bfloat16 nearer it than that form was
    (its sums fused into the products round once a product, not after every scaling and sum)."""
    from engine.train.muon import orthogonalize_each, orthogonalize_stacked

    torch.manual_seed(0)
    matrices = [torch.randn(*shape) for shape in MIXED_SHAPES]
    stacked = orthogonalize_stacked(matrices, dtype=dtype)
    each = orthogonalize_each(matrices, dtype=dtype)
    for m, s, e in zip(matrices, stacked, each):
        assert s.shape == e.shape == m.shape and s.dtype == m.dtype
        assert torch.allclose(s, e, atol=tolerance), m.shape
        exact = unfused_orthogonalize(m, dtype=torch.float64).to(m.dtype)
        assert torch.allclose(e, exact, atol=tolerance), m.shape
        if dtype == torch.bfloat16:
            assert (e - exact).abs().max() < (unfused_orthogonalize(m, dtype=dtype) - exact).abs().max()


def unfused_orthogonalize(g: torch.Tensor, steps: int = 5, dtype=torch.float32) -> torch.Tensor:
    """The quintic iteration as written before its sums were fused into the products: the oracle's."""
    from engine.train.muon import NS_COEFFICIENTS

    a, b, c = NS_COEFFICIENTS
    x = g.to(dtype)
    x = x / (x.norm() + 1e-7)
    x = x.T if g.size(0) > g.size(1) else x
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return (x.T if g.size(0) > g.size(1) else x).to(g.dtype)


def per_tensor_step(opt) -> None:
    """Muon's update written one tensor at a time, as it was before its steps were batched: the oracle."""
    from engine.train.muon import iteration_dtype

    for group in opt.param_groups:
        for p in (p for p in group["params"] if p.grad is not None):
            p.mul_(1 - group["lr"] * group["weight_decay"])
            state = opt.state[p]
            if group["muon"]:
                buf = state.setdefault("momentum_buffer", torch.zeros_like(p))
                buf.lerp_(p.grad, 1 - group["momentum"])
                step = unfused_orthogonalize(p.grad.lerp(buf, group["momentum"]), group["ns_steps"],
                                             dtype=iteration_dtype(p.device))
                p.add_(step, alpha=-group["lr"] * 0.2 * math.sqrt(max(p.shape)))
                continue
            if "step" not in state:
                state.update(step=torch.zeros(()), exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
            state["step"] += 1
            (b1, b2), t = group["betas"], float(state["step"])
            state["exp_avg"].lerp_(p.grad, 1 - b1)
            state["exp_avg_sq"].mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            denom = (state["exp_avg_sq"] / (1 - b2 ** t)).sqrt_().add_(group["eps"])
            p.addcdiv_(state["exp_avg"], denom, value=-group["lr"] / (1 - b1 ** t))


def muon_losses(batched: bool, steps: int = 15) -> list[float]:
    from engine.model.gpt import GPT, GPTConfig
    from engine.train.muon import Muon, muon_groups

    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=24, block_size=16, n_layer=2, n_head=2, n_embd=32))
    opt = Muon(muon_groups(model, 0.1), lr=0.01, betas=(0.9, 0.99))
    x, y = torch.randint(0, 24, (4, 16)), torch.randint(0, 24, (4, 16))
    losses = []
    for _ in range(steps):
        loss = model(x, y)[1]
        loss.backward()
        if batched:
            opt.step()
        else:
            with torch.no_grad():
                per_tensor_step(opt)
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("machine_dtype", [False, True])
def test_a_tiny_muon_training_follows_the_per_tensor_updates_loss_curve(monkeypatch, machine_dtype):
    """Stacked by shape, its sums fused and updated list-wide, the same curve as tensor by tensor with the iteration as
    first written: to float32's rounding, and within bfloat16's where the machine iterates in it."""
    from engine.train import muon

    if not machine_dtype:
        monkeypatch.setattr(muon, "iteration_dtype", lambda device: torch.float32)
    batched, per_tensor = muon_losses(True), muon_losses(False)
    assert batched[-1] < batched[0] - 0.5  # it trains
    assert batched == pytest.approx(per_tensor, abs=1e-4 if not machine_dtype else 2e-2)
