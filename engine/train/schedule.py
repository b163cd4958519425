"""The learning rate as a pure function of the step."""

from __future__ import annotations

import math


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
    # 3) in between, decay from lr to min_lr: cosine or linear
    progress = (step - warmup_steps) / max(1, max_steps - warmup_steps)
    if schedule == "linear":
        return lr - progress * (lr - min_lr)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (lr - min_lr)
