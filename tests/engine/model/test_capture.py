"""The one activation capture every probe reads through (engine/model/hooks.py: capture, run_with_cache)."""

import math

import pytest
import torch
from torch.nn import functional as F

from engine.model.gpt import GPT, GPTConfig
from engine.model.hooks import capture, hook_points, run_with_cache

V, C, NH = 20, 16, 2
HS = C // NH


def small(dropout: float = 0.0) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=V, block_size=16, n_layer=2, n_head=NH, n_embd=C, dropout=dropout))


def no_hooks_left(model) -> bool:
    return all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def by_hand(block, x: torch.Tensor, zero_heads=()) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One causal block from scratch: (attention weights (B, nh, T, T), head outputs z (B, nh, T, hs), output)."""
    B, T, _ = x.shape
    q, k, v = block.attn.c_attn(block.ln_1(x)).split(C, dim=2)
    q, k, v = (t.view(B, T, NH, HS).transpose(1, 2) for t in (q, k, v))
    scores = q @ k.transpose(-1, -2) / math.sqrt(HS) + torch.triu(torch.full((T, T), float("-inf")), diagonal=1)
    weights = F.softmax(scores, dim=-1)
    z = weights @ v
    z_used = z.clone()
    z_used[:, list(zero_heads)] = 0
    x = x + block.attn.c_proj(z_used.transpose(1, 2).reshape(B, T, C))
    return weights, z, x + block.mlp(block.ln_2(x))


def test_the_cache_holds_what_a_computation_by_hand_gives():
    model = small().eval()
    idx = torch.randint(0, V, (2, 10))
    names = ["hook_embed", "h.0.attn.hook_pattern", "h.0.attn.hook_z", "h.0.hook_resid_post",
             "h.1.attn.hook_pattern", "h.1.hook_resid_post"]
    out, cache = run_with_cache(model, idx, names=names)
    assert set(cache) == set(names)
    assert not any(t.requires_grad for t in cache.values())
    with torch.no_grad():
        embed = model.wte(idx) + model.wpe(torch.arange(10))
        w0, z0, x0 = by_hand(model.h[0], embed)
        w1, _, x1 = by_hand(model.h[1], x0)
        logits = model.lm_head(model.ln_f(x1))
    assert torch.allclose(cache["hook_embed"], embed, atol=1e-6)
    assert torch.allclose(cache["h.0.attn.hook_pattern"], w0, atol=1e-6)
    assert torch.allclose(cache["h.0.attn.hook_z"], z0, atol=1e-5)
    assert torch.allclose(cache["h.0.hook_resid_post"], x0, atol=1e-5)
    assert torch.allclose(cache["h.1.attn.hook_pattern"], w1, atol=1e-5)
    assert torch.allclose(cache["h.1.hook_resid_post"], x1, atol=1e-5)
    assert torch.allclose(out[0], logits, atol=1e-5)
    assert no_hooks_left(model)


def test_names_may_be_a_test_on_the_name():
    model = small().eval()
    _, cache = run_with_cache(model, torch.randint(0, V, (1, 6)), names=lambda n: n.endswith("hook_pattern"))
    assert sorted(cache) == ["h.0.attn.hook_pattern", "h.1.attn.hook_pattern"]


def test_a_run_is_in_eval_mode_without_gradients_and_gives_the_modes_back():
    model = small(dropout=0.5).train()
    model.h[1].eval()  # a part kept in eval keeps its own mode
    seen = {}

    def look(x):
        seen["training"] = any(m.training for m in model.modules())
        seen["grad"] = torch.is_grad_enabled()

    idx = torch.randint(0, V, (1, 8))
    out, _ = run_with_cache(model, idx, edit={"h.0.attn.hook_z": look})
    assert seen == {"training": False, "grad": False}
    assert not out[0].requires_grad
    assert model.training and model.h[0].training and model.h[0].attn.training
    assert not model.h[1].training and not model.h[1].attn.training
    assert no_hooks_left(model) and not any(p.active for p in hook_points(model).values())
    # without dropout at work, the same input gives the same output twice
    assert torch.equal(out[0], run_with_cache(model, idx)[0][0])


def test_an_exception_inside_still_gives_the_mode_back_and_takes_the_hooks_off():
    model = small(dropout=0.1).train()

    def fail(x):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        run_with_cache(model, torch.randint(0, V, (1, 6)), names=["h.1.hook_resid_post"],
                       edit={"h.0.attn.hook_z": fail})
    assert all(m.training for m in model.modules())
    assert no_hooks_left(model)
    with pytest.raises(ValueError), capture(model, ["hook_embed"]):
        assert not model.training
        raise ValueError("in the block")
    assert all(m.training for m in model.modules()) and no_hooks_left(model)
    with pytest.raises(KeyError):  # no such point: nothing is attached, the mode is untouched
        run_with_cache(model, torch.randint(0, V, (1, 6)), names=["h.9.hook_resid_post"])
    assert all(m.training for m in model.modules()) and no_hooks_left(model)


def test_zeroing_a_head_through_its_hook_point_changes_the_output_as_by_hand():
    model = small().eval()
    idx = torch.randint(0, V, (1, 10))

    def zero_head_0(z):
        z = z.clone()
        z[:, 0] = 0
        return z

    base, _ = run_with_cache(model, idx)
    out, cache = run_with_cache(model, idx, names=["h.1.attn.hook_z", "h.0.hook_resid_post"],
                                edit={"h.1.attn.hook_z": zero_head_0})
    with torch.no_grad():
        _, _, x1 = by_hand(model.h[1], cache["h.0.hook_resid_post"], zero_heads=[0])
        expected = model.lm_head(model.ln_f(x1))
    assert (cache["h.1.attn.hook_z"][:, 0] == 0).all()  # the cache holds the edited value
    assert not torch.allclose(out[0], base[0], atol=1e-4)
    assert torch.allclose(out[0], expected, atol=1e-5)
    assert no_hooks_left(model)
