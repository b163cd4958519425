"""Named hook points: where probes read (and may change) a model's activations from outside.

Every model names the same activations, the way TransformerLens does, so a probe asks for
`h.1.attn.hook_pattern` instead of a special path through the model:

- `hook_embed`               (B, T, C)      the embeddings entering the first block
- `h.{i}.attn.hook_pattern`  (B, nh, T, S)  attention weights; with a hook here the layer computes
                                            them explicitly instead of through the fused kernel
- `h.{i}.attn.hook_z`        (B, nh, T, hs) each head's output before the output projection
- `h.{i}.hook_resid_post`    (B, T, C)      the residual stream after block i

A hook returning a tensor replaces the activation (ablation does this); returning None only reads it.

Every probe reads through one capture, `run_with_cache` (the idea of TransformerLens' `run_with_cache`):
it attaches to the named points, runs the model in eval mode without gradients, and always (also on an
exception) takes its hooks off and gives every module back the train/eval mode it had. Interventions
(ablation's zeroing of a head) go through the same points as functions, `edit={name: fn}`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

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


Hook = Callable[[torch.Tensor], torch.Tensor | None]
"""fn(activation): a tensor it returns replaces the activation; None leaves it as it is."""


@contextmanager
def hooked(model: nn.Module, hooks: dict[str, Hook]) -> Iterator[None]:
    """Attach `hooks` (hook point name -> fn(activation)) for the duration of the block."""
    points = hook_points(model)
    missing = sorted(set(hooks) - set(points))
    if missing:
        raise KeyError(f"no hook point {missing[0]!r}; the model has {', '.join(sorted(points)[:6])}...")
    handles = []
    try:
        for name, fn in hooks.items():
            handles.append(points[name].register_forward_hook(lambda _m, _i, out, fn=fn: fn(out)))
        yield
    finally:
        for h in handles:
            h.remove()


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """The model in eval mode for the block; afterwards (also after an exception) every module has the
    train/eval mode it had before, each its own (a frozen part kept in eval stays so)."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training


Names = Iterable[str] | Callable[[str], bool]
"""Which hook points to cache: their names, or a test on a name (every point it accepts)."""


def _chosen(model: nn.Module, names: Names) -> list[str]:
    if callable(names):
        return [n for n in hook_points(model) if names(n)]
    return list(names)


@contextmanager
def capture(model: nn.Module, names: Names = (), *, edit: dict[str, Hook] | None = None
            ) -> Iterator[dict[str, torch.Tensor]]:
    """Within the block, forward passes of `model` run in eval mode without gradients and fill the
    yielded cache {name: activation (detached)} at the hook points `names`; `edit` functions change
    the activations at their points first (a point both edited and cached caches the edited value).
    Hooks come off and modes come back when the block ends, also on an exception."""
    cache: dict[str, torch.Tensor] = {}
    edit = dict(edit or {})
    keep = set(_chosen(model, names))

    def at(name: str) -> Hook:
        change = edit.get(name)

        def fn(x: torch.Tensor) -> torch.Tensor | None:
            new = change(x) if change is not None else None
            if name in keep:
                cache[name] = (x if new is None else new).detach()
            return new
        return fn

    with eval_mode(model), torch.no_grad(), hooked(model, {n: at(n) for n in sorted(keep | set(edit))}):
        yield cache


def run_with_cache(model: nn.Module, *inputs: Any, names: Names = (), edit: dict[str, Hook] | None = None,
                   **forward_kwargs: Any) -> tuple[Any, dict[str, torch.Tensor]]:
    """One forward pass of `model(*inputs, **forward_kwargs)` through `capture`: (its output, the cache)."""
    with capture(model, names, edit=edit) as cache:
        out = model(*inputs, **forward_kwargs)
    return out, cache


def pattern_names(model: nn.Module) -> list[str]:
    """A decoder's or an encoder's `h.{i}.attn.hook_pattern` names, layer by layer."""
    return [f"h.{i}.attn.hook_pattern" for i in range(n_layers(model))]


def n_layers(model: nn.Module) -> int:
    return sum(1 for name in hook_points(model) if name.endswith(".attn.hook_pattern"))


def attention_patterns(model: nn.Module, idx: torch.Tensor, **forward_kwargs) -> tuple[torch.Tensor, list]:
    """The model's logits on `idx` and every layer's attention weights, (B, nh, T, S) each, read
    through the `hook_pattern` points by `run_with_cache`."""
    names = pattern_names(model)
    out, cache = run_with_cache(model, idx, names=names, **forward_kwargs)
    return out[0], [cache[n] for n in names]
