"""Named hook points: where probes read (and may change) a model's activations from outside.

Every model names the same activations, the way TransformerLens does, so a probe asks for
`h.1.attn.hook_pattern` instead of a special path through the model:

- `hook_embed`               (B, T, C)      the embeddings entering the first block
- `h.{i}.attn.hook_pattern`  (B, nh, T, S)  attention weights; with a hook here the layer computes
                                            them explicitly instead of through the fused kernel
- `h.{i}.attn.hook_z`        (B, nh, T, hs) each head's output before the output projection
- `h.{i}.hook_resid_post`    (B, T, C)      the residual stream after block i

A hook returning a tensor replaces the activation (ablation does this); returning None only reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn as nn

STACKS = ("encoder", "decoder", "cross")
"""An encoder-decoder's attention stacks: its encoder's and decoder's self-attention, and cross-attention."""


class HookPoint(nn.Module):
    """An identity with a name in the module tree; forward hooks registered on it see the activation."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    @property
    def active(self) -> bool:
        return bool(self._forward_hooks)


def hook_points(model: nn.Module) -> dict[str, HookPoint]:
    """Every hook point of `model` by name (wrappers' names such as compile's `_orig_mod` are dropped)."""
    out = {}
    for name, module in model.named_modules():
        if isinstance(module, HookPoint):
            out[".".join(p for p in name.split(".") if p not in _WRAPPERS)] = module
    return out


_WRAPPERS = {"_orig_mod", "module", "_fsdp_wrapped_module", "_checkpoint_wrapped_module"}


@contextmanager
def hooked(model: nn.Module, hooks: dict[str, Callable[[torch.Tensor], torch.Tensor | None]]) -> Iterator[None]:
    """Attach `hooks` (hook point name -> fn(activation)) for the duration of the block."""
    points = hook_points(model)
    missing = sorted(set(hooks) - set(points))
    if missing:
        raise KeyError(f"no hook point {missing[0]!r}; the model has {', '.join(sorted(points)[:6])}...")
    handles = [points[name].register_forward_hook(lambda _m, _i, out, fn=fn: fn(out)) for name, fn in hooks.items()]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def n_layers(model: nn.Module) -> int:
    return sum(1 for name in hook_points(model) if name.endswith(".attn.hook_pattern"))


@torch.no_grad()
def attention_patterns(model: nn.Module, idx: torch.Tensor, **forward_kwargs) -> tuple[torch.Tensor, list]:
    """The model's logits on `idx` and every layer's attention weights, (B, nh, T, S) each, read
    through the `hook_pattern` points."""
    maps: dict[int, torch.Tensor] = {}

    def keep(layer):
        def fn(weights):
            maps[layer] = weights.detach()
        return fn

    hooks = {f"h.{i}.attn.hook_pattern": keep(i) for i in range(n_layers(model))}
    with hooked(model, hooks):
        logits = model(idx, **forward_kwargs)[0]
    return logits, [maps[i] for i in sorted(maps)]
