"""The learning rate as a pure function of the step, or under a time budget of the budget's share spent."""

from __future__ import annotations

import math

from engine.plan.budget import BUDGET_DECAY_SHARE, DECAY_SHARE


def learning_rate(step: int, *, lr: float, min_lr: float, warmup_steps: int, max_steps: int,
                  schedule: str = "cosine") -> float:
    # 1) linear warm-up from lr/warmup to lr over the first warmup_steps steps
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    if schedule == "constant":
        return lr
    # 2) past the end of the decay, hold at min_lr
    if step >= max_steps:
        return min_lr
    # 3) in between, decay from lr to min_lr: cosine or linear, or wsd's hold then linear over its last share
    start = max(warmup_steps, int(max_steps * (1 - DECAY_SHARE))) if schedule == "wsd" else warmup_steps
    if step < start:
        return lr
    progress = (step - start) / max(1, max_steps - start)
    return _decayed(progress, lr, min_lr, schedule)


def learning_rate_by_time(spent: float, *, lr: float, min_lr: float, warmup: float,
                          decay: float = BUDGET_DECAY_SHARE,
                          schedule: str = "wsd") -> float:
    """The rate when `spent` of a time budget is used (0 to 1; more: past the budget)."""
    # 1) linear warm-up over the first `warmup` share, from a hundredth of lr
    if spent < warmup:
        return lr * max(spent / warmup, 0.01)
    if schedule == "constant":
        return lr
    # 2) at the budget and past it, min_lr
    if spent >= 1:
        return min_lr
    # 3) wsd holds lr, then decays over the last `decay` share; cosine and linear decay from the warm-up's end
    start = max(warmup, 1 - decay) if schedule == "wsd" else warmup
    if spent < start:
        return lr
    return _decayed((spent - start) / max(1e-9, 1 - start), lr, min_lr, schedule)


def _decayed(progress: float, lr: float, min_lr: float, schedule: str) -> float:
    """From lr (progress 0) to min_lr (progress 1): cosine, or a straight line (linear, wsd)."""
    if schedule == "cosine":
        return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (lr - min_lr)
    return lr - progress * (lr - min_lr)
