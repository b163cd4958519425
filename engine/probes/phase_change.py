"""The induction phase change: the evaluation where the top induction score rises fastest."""

from __future__ import annotations

MIN_RISE = 0.1
"""A rise smaller than this between two evaluations is noise, not a phase change."""


def find_phase_change(steps: list[int], values: list[float], *, min_rise: float = MIN_RISE) -> dict | None:
    """The evaluation ending the steepest rise of `values` per step, when that rise is at least
    `min_rise`: {"step", "before", "after", "rate"}; None when the curve never jumps."""
    best = None
    for i in range(1, min(len(steps), len(values))):
        span = steps[i] - steps[i - 1]
        rise = values[i] - values[i - 1]
        if span <= 0 or rise < min_rise:
            continue
        rate = rise / span
        if best is None or rate > best["rate"]:
            best = {"step": int(steps[i]), "before": float(values[i - 1]), "after": float(values[i]), "rate": rate}
    return best
