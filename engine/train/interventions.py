"""Interventions during training: freeze, zero or re-initialise a head, an attention, an MLP or a layer, and keep
them so (engine/config/interventions.py names the parts and reads the config's entries).

A part is a list of parameter slices: a head is its rows of the query, key and value projections and its
columns of the output projection. Zeroing writes zeros there and freezing keeps the values it found; both
are *held*: after every optimizer step the slices are written back (zeros, or the frozen values) and their
gradients are zeroed as they accumulate, so clipping does not count them. Writing back is exact whatever the
optimizer does (momentum, weight decay, Muon's whole-matrix update), where masking gradients alone is not:
AdamW's weight decay and its momentum from earlier steps would still move the slices. Zeroing the weights
rather than the head's output at `hook_z` keeps the checkpoint itself ablated, so Inspect, the Playground and
an export see the zeroed head without knowing about interventions; with its query, key and value rows zero
the head's `hook_z` output is exactly zero. Re-initialising draws the part again by the model's own
initialization (seeded by the run's seed, the step and the target: a rerun draws the same) and lets it train.

A later intervention on a part releases what was held on the parts it contains (zeroing h.1 after freezing
h.1.mlp zeroes the MLP; re-initialising a zeroed head brings it back). A checkpoint holds the weights as they
were at its step: `restart(step)` holds again what the entries before that step held, for a resume or a
rollback, without drawing a re-initialisation twice.
"""

from __future__ import annotations

import copy
import zlib
from dataclasses import dataclass

import torch
import torch.nn as nn

from engine.config.interventions import covers, describe, parse_target, target_problem
from engine.core.errors import UserError
from engine.model.gpt import RMSNorm

Part = tuple[nn.Module, str, tuple]
"""(module, parameter name, index into that parameter)."""
ALL = (slice(None),)


def parts(model: nn.Module, target: str, action: str = "freeze") -> list[Part]:
    """The parameter slices of `target`; a bad target is refused in one sentence. Zeroing a layer zeroes what it
    adds to the residual stream (its attention and MLP), not its norms; freezing and re-initialising take it all."""
    t = parse_target(target)
    problem = _problem(model, target)
    if problem or t is None:
        raise UserError(f"cannot {action} {problem}")
    module = model.get_submodule(t.module)
    if t.head is not None:
        return _head(module, t.head)
    if action == "zero" and t.part == "layer":
        module = [m for name in ("attn", "cross_attn", "mlp") if (m := getattr(module, name, None)) is not None]
    owners = module if isinstance(module, list) else [module]
    return [(owner, name, ALL) for m in owners for owner in m.modules() for name, _ in owner.named_parameters(
        recurse=False)]


def _problem(model: nn.Module, target: str) -> str | None:
    c = model.config
    problem = target_problem(target, arch=c.arch, n_layer=c.n_layer, n_head=c.n_head,
                             n_encoder_layer=getattr(c, "n_encoder_layer", 0))
    if problem:
        return problem
    try:
        model.get_submodule(parse_target(target).module)
    except AttributeError:
        return f"{target!r}: this model has no such part"
    return None


def _head(attn: nn.Module, head: int) -> list[Part]:
    """A head's slices: its query, key and value rows, its output-projection columns (and a T5 relative bias)."""
    out_proj = attn.c_proj if hasattr(attn, "c_proj") else attn.o
    width = out_proj.in_features
    hs = width // attn.n_head
    own = slice(head * hs, (head + 1) * hs)
    if hasattr(attn, "c_attn"):  # q, k and v stacked in one projection
        rows = [slice(k * width + head * hs, k * width + (head + 1) * hs) for k in range(3)]
        found = [(attn.c_attn, name, (r,)) for name in ("weight", "bias") if getattr(attn.c_attn, name) is not None
                 for r in rows]
    else:
        found = [(getattr(attn, n), "weight", (own,)) for n in ("q", "k", "v")]
        if hasattr(attn, "relative_bias"):
            found.append((attn.relative_bias, "weight", (slice(None), slice(head, head + 1))))
    return found + [(out_proj, "weight", (slice(None), own))]


def _param(part: Part) -> nn.Parameter:
    return getattr(part[0], part[1])


@dataclass
class Hold:
    """Slices kept at fixed values: zeros, or the values a freeze found."""
    target: str
    slices: list[tuple[nn.Parameter, tuple, torch.Tensor | None]]
    """(parameter, index, value); value None: zeros."""


class Interventions:
    """The run's interventions (its config's entries, the live ones appended) and what they hold now."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, plan: list[dict], *, seed: int):
        self.model, self.optimizer, self.plan, self.seed = model, optimizer, plan, seed
        self.holds: dict[str, Hold] = {}
        self._masks: dict[nn.Parameter, list[tuple]] = {}
        self._hooked: set[int] = set()
        for i, e in enumerate(plan):  # every target checked on the real model before the first step
            if problem := _problem(model, e["target"]):
                raise UserError(f"train.interventions[{i}].target {problem}")
        self._handle = optimizer.register_step_post_hook(lambda *_: self.keep())

    def due(self, step: int) -> list[dict]:
        return [e for e in self.plan if e["step"] == step]

    @torch.no_grad()
    def apply(self, entry: dict) -> str:
        """Do what `entry` says now; returns it in words ("zeroed h.1.attn.head.2")."""
        action, target = entry["action"], entry["target"]
        found = parts(self.model, target, action)
        self._release(target)
        if action == "reinit":
            self._reinit(found, entry["step"], target)
        elif action == "zero":
            for part in found:
                _param(part)[part[2]] = 0
            self._hold(target, found, zeros=True)
        else:
            self._hold(target, found, zeros=False)
        if action != "freeze":
            self._clear_state(found)
        return describe(action, target)

    def restart(self, step: int) -> None:
        """After loading a checkpoint of `step`: hold what the entries before it held (a re-initialisation is in
        the weights already and is not drawn again)."""
        self.holds.clear()
        self._masks.clear()
        for e in self.plan:
            if e["step"] < step:
                found = parts(self.model, e["target"], e["action"])
                self._release(e["target"])
                if e["action"] != "reinit":
                    self._hold(e["target"], found, zeros=e["action"] == "zero")

    @torch.no_grad()
    def keep(self) -> None:
        """After an optimizer step: every held slice written back."""
        for hold in self.holds.values():
            for p, index, value in hold.slices:
                if value is None:
                    p[index] = 0
                else:
                    p[index] = value

    def _hold(self, target: str, found: list[Part], *, zeros: bool) -> None:
        slices = [(_param(part), part[2], None if zeros else _param(part)[part[2]].detach().clone())
                  for part in found]
        self.holds[target] = Hold(target, slices)
        for p, index, _ in slices:
            self._masks.setdefault(p, []).append(index)
            if id(p) not in self._hooked:
                self._hooked.add(id(p))
                p.register_post_accumulate_grad_hook(self._mask_grad)

    def _mask_grad(self, p: nn.Parameter) -> None:
        for index in self._masks.get(p, ()):
            if p.grad is not None:
                p.grad[index] = 0

    def _release(self, target: str) -> None:
        """Let go of what is held on `target` and on the parts it contains."""
        for name in [n for n in self.holds if covers(target, n)]:
            del self.holds[name]
        self._masks = {}
        for hold in self.holds.values():
            for p, index, _ in hold.slices:
                self._masks.setdefault(p, []).append(index)

    def _reinit(self, found: list[Part], step: int, target: str) -> None:
        """The slices drawn again as the model initialises the part's module (a head's: its attention's), on a copy,
        with a seed of the run's seed, the step and the target."""
        module = self.model.get_submodule(parse_target(target).module)
        names = {id(m): name for name, m in module.named_modules()}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(zlib.crc32(f"{self.seed}:{step}:{target}".encode()))
            fresh = _initialised(self.model, module)
        for owner, name, index in found:
            p = getattr(owner, name)
            p[index] = getattr(fresh.get_submodule(names[id(owner)]), name)[index].to(p.device, p.dtype)

    def _clear_state(self, found: list[Part]) -> None:
        """The optimizer's moments of the slices set to zero: a zeroed or fresh part starts without momentum."""
        for part in found:
            p = _param(part)
            for value in self.optimizer.state.get(p, {}).values():
                if torch.is_tensor(value) and value.shape == p.shape:
                    value[part[2]] = 0


def _initialised(model: nn.Module, owner: nn.Module) -> nn.Module:
    """A CPU copy of `owner` as the model's own initialization makes it (norms at one, biases at zero)."""
    fresh = copy.deepcopy(owner).to("cpu", torch.float32)
    for m in fresh.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
        elif isinstance(m, RMSNorm):
            nn.init.ones_(m.weight)
    fresh.apply(model._init_weights)
    return fresh
