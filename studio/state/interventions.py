"""Interventions during training as the studio offers and shows them, decided without Qt: the parts of a run's
model that may be frozen, zeroed or re-initialised (named as engine/config/interventions.py names them), whether
the Train page's Intervene box is open and why not, the request it sends, the marks of those the trainer made,
the config's still to come, and what each head is held at for the Heads tab.

The flow is one way, as `engine intervene` does it: the studio writes a request into the run folder's control file
(engine/run/control.py), the trainer applies it before its next step and says so in an `intervention` event (or
refuses it in a warning), and the studio shows that event."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.config.interventions import covers, entry_problems, target_problem
from engine.core.errors import UserError
from engine.run.control import request_intervention
from engine.run.events import Event

ACTION_WORDS = {"freeze": "freeze", "zero": "zero", "reinit": "re-initialise"}
"""Each action as the box lists it and a mark names it ("zero h.1.attn.head.2")."""
HELD_WORDS = {"freeze": "frozen", "zero": "zeroed", "reinit": "re-initialised"}
REFUSED = "intervention"
"""The kind of the trainer's warning that refuses a live request."""


def part_names(arch: str, n_layer: int, n_head: int, n_encoder_layer: int = 0) -> list[str]:
    """Every part of a model of this shape, layer by layer: its heads, its attention, its MLP, the layer."""
    stacks = [("encoder.", n_encoder_layer or n_layer), ("decoder.", n_layer)] if arch == "t5" else [("", n_layer)]
    out = []
    for stack, layers in stacks:
        for i in range(layers):
            for attn in ("attn", "cross_attn") if stack == "decoder." else ("attn",):
                out += [f"{stack}h.{i}.{attn}.head.{j}" for j in range(n_head)] + [f"{stack}h.{i}.{attn}"]
            out += [f"{stack}h.{i}.mlp", f"{stack}h.{i}"]
    return out


def run_parts(cfg) -> list[str]:
    """The parts of a run's model, from its config's shape (a fine-tune's run.toml holds its source's shape)."""
    m = cfg.model
    return part_names(cfg.arch, m.n_layer, m.n_head, m.n_encoder_layer)


@dataclass(frozen=True)
class InterveneBox:
    enabled: bool
    why: str
    """What Apply does, or why the box is closed (its tooltip)."""
    parts: list[str]


def intervene_box(cfg, *, training: bool, paused: bool = False) -> InterveneBox:
    """The Intervene box of the run shown (`cfg`: its config, None for no run or an unreadable run.toml)."""
    if cfg is None:
        return InterveneBox(False, "No run to intervene in: open a run that trains.", [])
    parts = run_parts(cfg)
    if not training:
        return InterveneBox(False, "This run is not training: a part is frozen, zeroed or re-initialised while the "
                            "run trains. To make one from step N, add [[train.interventions]] step = N, action = "
                            '"zero", target = "h.0.attn.head.0" to its run.toml and resume it.', parts)
    m = cfg.model
    problems = entry_problems([{"step": 0, "action": "zero", "target": parts[0]}], arch=cfg.arch,
                              n_layer=m.n_layer, n_head=m.n_head, n_encoder_layer=m.n_encoder_layer,
                              parallel=cfg.train.parallel, method=cfg.finetune.method)
    if not problems and (cfg.train.processes > 1 or "," in cfg.train.device):
        problems = ["live interventions need a single-process run: add one to run.toml's [[train.interventions]] "
                    "and resume it"]
    if problems:
        return InterveneBox(False, f"Cannot intervene in this run: {problems[0]}.", parts)
    later = " The run is paused: the trainer applies it when the run resumes." if paused else ""
    return InterveneBox(True, "Freeze, zero or re-initialise a part of the model before the trainer's next step. "
                        "The run's run.toml records it, so a resume makes it again." + later, parts)


def send(run_dir: Path, cfg, action: str, target: str) -> str:
    """Ask the trainer of `run_dir` to make the intervention, checked first as the command line checks it;
    returns what the box says until the trainer answers. A part the model lacks is refused in a UserError."""
    if action not in ACTION_WORDS:
        raise UserError(f"unknown intervention {action!r}: choose {', '.join(ACTION_WORDS)}")
    m = cfg.model
    problem = target_problem(target, arch=cfg.arch, n_layer=m.n_layer, n_head=m.n_head,
                             n_encoder_layer=m.n_encoder_layer)
    if problem:
        raise UserError(f"cannot {ACTION_WORDS[action]} {problem}")
    request_intervention(run_dir, action, target)
    return f"Asked to {ACTION_WORDS[action]} {target}: the trainer does it before its next step."


@dataclass(frozen=True)
class Mark:
    step: int
    time: float
    label: str
    """ "zero h.1.attn.head.2": the line's words on the loss plot."""
    message: str
    """The trainer's sentence (its tooltip)."""


def marks(events: list[Event]) -> list[Mark]:
    """A mark for each intervention the trainer made, live or from the config."""
    return [Mark(int(e.step or 0), e.time, f"{ACTION_WORDS.get(e.get('action'), e.get('action'))} {e.get('target')}",
                 e.get("message") or "") for e in events]


def planned(cfg, events: list[Event], step: int) -> list[dict]:
    """The config's interventions still to come: at `step` or later and not made yet."""
    made = {(e.step, e.get("action"), e.get("target")) for e in events}
    entries = cfg.train.interventions if cfg is not None else []
    return [e for e in entries if isinstance(e.get("step"), int) and e["step"] >= step
            and (e["step"], e.get("action"), e.get("target")) not in made]


def box_status(events: list[Event], warnings: list[Event], cfg, step: int, asked: tuple[float, str] | None) -> str:
    """The box's line: the newest of the request just sent (`asked`: its time and words), the trainer's answer
    (an intervention made or refused), and the config's interventions still to come."""
    said = [(e.time, e.get("message") or "") for e in events[-1:]]
    said += [(w.time, w.get("message") or "") for w in warnings if w.get("kind") == REFUSED][-1:]
    if asked is not None:
        said.append(asked)
    newest = max(said, default=(0.0, ""))[1]
    ahead = planned(cfg, events, step)
    if ahead:
        words = "; ".join(f"{ACTION_WORDS.get(e['action'], e['action'])} {e['target']} at step {e['step']:,}"
                          for e in ahead[:3])
        more = f" and {len(ahead) - 3} more" if len(ahead) > 3 else ""
        newest = (newest.rstrip(".") + ". " if newest else "") + f"Planned in run.toml: {words}{more}."
    return newest


def head_hold(events: list[Event], step: int, layer: int, head: int) -> tuple[str, int] | None:
    """(action, its step) of the newest intervention on a part holding `head` of `layer` (the head, its attention
    or its layer), as the evaluation of `step` saw it: one at step N is made after the evaluation of step N."""
    name = f"h.{layer}.attn.head.{head}"
    found = [e for e in events if (e.step or 0) < step and covers(str(e.get("target")), name)]
    if not found:
        return None
    last = sorted(found, key=lambda e: e.step or 0)[-1]  # (a stable sort: of one step's, the later)
    return last.get("action"), int(last.step or 0)
