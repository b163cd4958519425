"""The validation loss of a checkpoint: the one measured at its own step, by the evaluation there (the run's eval
events). A checkpoint's meta.json keeps the best loss so far (what picks the best one), which is not that
checkpoint's loss: a run stopped between evaluations saves weights that no evaluation has measured."""

from __future__ import annotations


def loss_at(steps: list[float], values: list[float], step: int) -> float | None:
    """The validation loss the run measured at `step` (the latest, should it have evaluated there twice), or None."""
    found = [v for s, v in zip(steps, values) if s == step and v is not None]
    return found[-1] if found else None


def checkpoint_label(name: str, loss: float | None, *, best: bool) -> str:
    """A checkpoint as a picker lists it: its name, the loss measured at it, and whether it is the best."""
    measured = f"val {loss:.3f}" if loss is not None else "no evaluation at this step"
    return f"{name}  ({measured})" + ("  best" if best else "")
