"""The loss-spike doctor's note as the Train page shows it, without Qt: the newest `diagnosis` event (written by
engine/train/doctor.py at the first spike of a streak) in words — the step, the likely cause and the fix — and the
numbers it read, for the note's tooltip."""

from __future__ import annotations

from dataclasses import dataclass

from engine.run.events import Event

CAUSE_WORDS = {"learning_rate": "the learning rate", "attention_collapse": "attention entropy collapse",
               "logit_growth": "output-logit growth", "gradient_burst": "a gradient burst",
               "unclear": "unclear (no reading stood out: likely a hard batch)"}
"""engine/train/diagnosis.py's CAUSES in words."""
READING_WORDS = {"loss": "loss", "recent_loss": "recent mean loss", "lr": "learning rate",
                 "lr_median": "recent median learning rate", "peak_lr": "peak learning rate",
                 "warmup_steps": "warm-up steps", "grad_norm": "gradient norm",
                 "grad_norm_median": "recent median gradient norm", "grad_clip": "gradient clip",
                 "logit_max": "largest output logit", "logit_max_before": "largest logit at the last evaluation",
                 "entropy": "mean attention entropy (nats)",
                 "entropy_before": "mean attention entropy at the last evaluation"}


@dataclass(frozen=True)
class DoctorNote:
    text: str
    detail: str
    """The trainer's whole sentence and the readings, one a line."""


def doctor_note(diagnoses: list[Event]) -> DoctorNote | None:
    """The note of the newest diagnosis; None while the run has had no spike diagnosed."""
    if not diagnoses:
        return None
    d = diagnoses[-1]
    cause = CAUSE_WORDS.get(d.get("cause"), str(d.get("cause")))
    advice = str(d.get("advice") or "").rstrip(".")
    earlier = len(diagnoses) - 1
    more = f" ({earlier} earlier spike{'s' if earlier > 1 else ''} diagnosed: see the Log.)" if earlier else ""
    text = f"Loss spike at step {d.step or 0:,}: likely cause, {cause}. Try: {advice}.{more}"
    readings = d.get("readings") or {}
    lines = [f"{READING_WORDS[k]}: {_number(readings[k])}" for k in READING_WORDS if k in readings]
    return DoctorNote(text, "\n".join([str(d.get("message") or ""), *lines]).strip())


def _number(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
