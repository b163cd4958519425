"""Training health: non-finite losses and loss spikes, judged against a short running history."""

from __future__ import annotations

import math
from collections import deque


class LossMonitor:
    def __init__(self, spike_factor: float = 3.0, window: int = 50, warmup: int = 20):
        self.spike_factor = spike_factor
        self.history: deque[float] = deque(maxlen=window)
        self.warmup = warmup
        self.bad_in_a_row = 0
        self.recent_mean = math.nan
        """The mean a spike was judged against."""

    def check(self, loss: float) -> str | None:
        """None for a healthy loss, else "nan_loss" or "loss_spike"."""
        if not math.isfinite(loss):
            self.bad_in_a_row += 1
            return "nan_loss"
        self.bad_in_a_row = 0
        verdict = None
        if len(self.history) >= self.warmup:
            mean = self.recent_mean = sum(self.history) / len(self.history)
            if loss > self.spike_factor * mean:
                verdict = "loss_spike"
        self.history.append(loss)
        return verdict
