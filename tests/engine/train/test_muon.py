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
