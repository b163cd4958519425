"""Where a run's time goes besides its training steps: evaluation (with the probes), samples and
checkpoints, each timed apart so the throughput counts steps only and the `finished` event can say
what each took."""

from __future__ import annotations

import time

ACTIVITIES = {"evaluate": "evaluation", "sample": "samples", "save": "checkpoints"}


class Stopwatch:
    def __init__(self, clock=time.monotonic):
        self.now = clock
        """The trainer's clock (a test gives a fake one)."""
        self.excluded = 0.0
        """Seconds outside training steps since the throughput was last measured."""
        self.spent: dict[str, float] = {}
        """Seconds by activity since the run (or this session of it) started."""
        self.last: dict[str, float] = {}
        """Seconds the latest of each activity took: what a time budget keeps for the final ones."""

    def time(self, fn, *args, **kwargs):
        """Run fn, leaving its time out of the training throughput and adding it to its activity."""
        t = self.now()
        try:
            return fn(*args, **kwargs)
        finally:
            dt = self.now() - t
            self.excluded += dt
            name = ACTIVITIES.get(fn.__name__, fn.__name__)
            self.spent[name] = self.spent.get(name, 0.0) + dt
            self.last[name] = dt

    def pause(self, seconds: float) -> None:
        """Paused time: neither training nor any activity."""
        self.excluded += seconds

    def take_excluded(self) -> float:
        out, self.excluded = self.excluded, 0.0
        return out
