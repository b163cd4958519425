"""Interventions during training as the config writes them: `[[train.interventions]]` tables of step, action
and target, read and checked here without torch (engine/train/interventions.py applies them).

A target names a part of the model with the hook points' names (engine/model/hooks.py): a head
`h.1.attn.head.2`, a layer's attention `h.1.attn`, its MLP `h.1.mlp` or the whole layer `h.1`; an
encoder-decoder's parts start with `encoder.` or `decoder.` (its cross-attention `decoder.h.0.cross_attn`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from engine.config.values import suggest

ACTIONS = ("freeze", "zero", "reinit")
"""freeze: its weights stop changing; zero: its weights become and stay zero (the part adds nothing);
reinit: its weights drawn again by the model's own initialization (then they train on)."""
DONE = {"freeze": "froze", "zero": "zeroed", "reinit": "re-initialised"}
FORMS = "a head (h.1.attn.head.2), an attention (h.1.attn), an MLP (h.1.mlp) or a layer (h.1)"
KEYS = ("step", "action", "target")

_NAME = re.compile(r"(?:(encoder|decoder)\.)?h\.(\d+)(?:\.(attn|cross_attn|mlp)(?:\.head\.(\d+))?)?")


@dataclass(frozen=True)
class Target:
    stack: str
    """"" for a decoder or an encoder alone; encoder | decoder in an encoder-decoder."""
    layer: int
    part: str
    """layer | attn | cross_attn | mlp"""
    head: int | None

    @property
    def module(self) -> str:
        """The model's module path of the part (a head's is its attention's)."""
        base = f"{self.stack + '.' if self.stack else ''}h.{self.layer}"
        return base if self.part == "layer" else f"{base}.{self.part}"


def parse_target(name: str) -> Target | None:
    m = _NAME.fullmatch(name.strip()) if isinstance(name, str) else None
    if m is None or m.group(4) is not None and m.group(3) == "mlp":
        return None
    return Target(m.group(1) or "", int(m.group(2)), m.group(3) or "layer",
                  None if m.group(4) is None else int(m.group(4)))


def covers(outer: str, inner: str) -> bool:
    """Whether the part `outer` holds the part `inner` (h.1 holds h.1.attn.head.2; h.1 does not hold h.10)."""
    return inner == outer or inner.startswith(outer + ".")


def describe(action: str, target: str) -> str:
    """"zeroed h.1.attn.head.2": what an intervention did, in the log's words."""
    return f"{DONE.get(action, action)} {target}"


def target_problem(name: str, *, arch: str, n_layer: int, n_head: int, n_encoder_layer: int = 0) -> str | None:
    """Why `name` names no part of a model of this shape, in one sentence; None when it names one."""
    t = parse_target(name)
    if t is None:
        return f"{name!r} is not a part of the model: name {FORMS}"
    if arch == "t5" and not t.stack:
        return f"{name!r}: an encoder-decoder's parts start with encoder. or decoder. (decoder.{name})"
    if arch != "t5" and t.stack:
        return f"{name!r}: this model has one stack of layers, named without {t.stack}. ({name.split('.', 1)[1]})"
    if t.part == "cross_attn" and t.stack != "decoder":
        return f"{name!r}: only an encoder-decoder's decoder layers have a cross_attn"
    layers = (n_encoder_layer or n_layer) if t.stack == "encoder" else n_layer
    if t.layer >= layers:
        return f"{name!r}: this model has layers 0-{layers - 1}"
    if t.head is not None and t.head >= n_head:
        return f"{name!r}: this model has heads 0-{n_head - 1}"
    return None


def read_entries(value: Any) -> tuple[list[dict], list[str]]:
    """`train.interventions` from TOML: ([{step, action, target}], problems); each problem names its entry."""
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        return [], ["train.interventions must be [[train.interventions]] tables of step, action and target"]
    entries, problems = [], []
    for i, e in enumerate(value):
        where = f"train.interventions[{i}]"
        unknown = [k for k in e if k not in KEYS]
        if unknown:
            problems.append(f"unknown key {where}.{unknown[0]}{suggest(unknown[0], KEYS)}")
        step, action, target = e.get("step"), e.get("action"), e.get("target")
        if isinstance(step, float) and step.is_integer():
            step = int(step)
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            problems.append(f"{where}.step must be a step number >= 0, got {step!r}")
        if action not in ACTIONS:
            problems.append(f"{where}.action must be one of {', '.join(ACTIONS)}, got {action!r}"
                            f"{suggest(action, ACTIONS) if isinstance(action, str) else ''}")
        if not isinstance(target, str) or parse_target(target) is None:
            problems.append(f"{where}.target {target!r} is not a part of the model: name {FORMS}")
        entries.append({"step": step, "action": action, "target": target})
    return entries, problems


def entry_problems(entries: list[dict], *, arch: str, n_layer: int, n_head: int, n_encoder_layer: int,
                   parallel: str, method: str, shape_known: bool = True) -> list[str]:
    """What the run's model cannot take of its interventions (read_entries has checked their form); without
    `shape_known` (a fine-tune takes its source's shape) the targets are checked when the model is built."""
    if not entries:
        return []
    if parallel == "fsdp":
        return ['train.interventions need whole weights in each process: train.parallel = "fsdp" shards them; '
                'use "ddp"']
    if method == "lora":
        return ['train.interventions change the weights, which a LoRA fine-tune keeps frozen: use '
                'finetune.method = "full"']
    out = []
    for i, e in enumerate(entries if shape_known else []):
        problem = target_problem(e["target"], arch=arch, n_layer=n_layer, n_head=n_head,
                                 n_encoder_layer=n_encoder_layer)
        if problem:
            out.append(f"train.interventions[{i}].target {problem}")
    return out
