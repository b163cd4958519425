"""Time left in a run, measured the way the user lives it: wall-clock steps per second over the last two
minutes (evaluations, checkpoints and a busy machine included, so it moves slowly), marked unsure while
the newest third of that stretch runs at another speed than the whole."""

from __future__ import annotations

from dataclasses import dataclass

from engine.core.text import human_seconds

MIN_POINTS = 5
WINDOW_S = 120.0
"""The speed is measured over the last two minutes of the run (or all of it, when shorter)."""
STEADY = 0.25
"""The recent speed within 25% of the run's own average: the estimate is trusted."""


@dataclass
class Eta:
    seconds: float
    unsure: bool

    def text(self) -> str:
        if self.unsure:
            return f"ETA ≈ {human_seconds(self.seconds)} (unsure: the speed is still changing)"
        return f"ETA {human_seconds(self.seconds)}"


def eta(steps: list[float], times: list[float], max_steps: int) -> Eta | None:
    """The time left from the (step, event time) points of this session, or None with too few points."""
    start = _session_start(times)
    steps, times = steps[start:], times[start:]
    if len(steps) < 2 or times[-1] <= times[0] or steps[-1] <= steps[0]:
        return None
    first = min(next(i for i, t in enumerate(times) if t >= times[-1] - WINDOW_S), len(steps) - 2)
    window = _rate(steps, times, first)
    if window <= 0:
        return None
    latest = _rate(steps, times, max(first, len(steps) - 1 - (len(steps) - first) // 3))
    left = max(0.0, (max_steps - steps[-1]) / window)
    unsure = len(steps) < MIN_POINTS or abs(latest / window - 1) > STEADY
    return Eta(left, unsure)


def _rate(steps: list[float], times: list[float], start: int) -> float:
    """Steps a second from point `start` to the last."""
    start = min(start, len(steps) - 2)
    return (steps[-1] - steps[start]) / max(1e-9, times[-1] - times[start])


def _session_start(times: list[float]) -> int:
    """Where the latest training session begins: after a pause of more than WINDOW_S (a resume)."""
    for i in range(len(times) - 1, 0, -1):
        if times[i] - times[i - 1] > WINDOW_S:
            return i
    return 0
