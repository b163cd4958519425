"""Where a training run stands, computed once for every view that shows it (the Train page's header and the
status bar read the same Progress): the time left and the throughput, both from the wall clock of the run's
own step events, so evaluations, checkpoints and a busy machine count as the user lives them.

The time left uses the last two minutes (it moves slowly) and is marked unsure while the newest third of that
stretch runs at another speed than the whole; the throughput uses the last twenty seconds, so a slowdown shows
within a few steps instead of behind a lagging median."""

from __future__ import annotations

from dataclasses import dataclass

from engine.core.text import human_seconds

ETA_WINDOW_S = 120.0
"""The time left is measured over the last two minutes of the run (or all of it, when shorter)."""
SPEED_WINDOW_S = 20.0
"""Tokens a second are measured over the last twenty seconds: a slowdown shows promptly."""
MIN_POINTS = 5
STEADY = 0.25
"""The recent speed within 25% of the window's: the time left is trusted."""


@dataclass(frozen=True)
class Progress:
    step: int
    max_steps: int
    seconds_left: float | None
    """None while there are too few steps to measure a speed."""
    unsure: bool
    tokens_per_s: float | None
    budget_s: float = 0.0
    """A time-budget run's budget: it ends on time, so its step count is a cap and its time left is the budget's."""
    elapsed_s: float = 0.0
    """Seconds this training session has run, by its step events."""

    def eta_text(self) -> str:
        if self.seconds_left is None:
            return "time left: measuring…"
        unsure = " (unsure: the speed is still changing)" if self.unsure else ""
        return f"about {human_seconds(self.seconds_left)} left{unsure}"

    def speed_text(self) -> str:
        return f"{self.tokens_per_s:,.0f} tokens/s" if self.tokens_per_s else ""

    def where_text(self) -> str:
        if self.budget_s:
            return f"step {self.step:,}, {human_seconds(self.elapsed_s)} of a {human_seconds(self.budget_s)} budget"
        if self.max_steps <= 0:  # the run's total is not known yet (its config not read): no "of 0", no "of 1"
            return f"step {self.step:,}"
        return f"step {self.step:,} of {self.max_steps:,}"

    def bar(self) -> tuple[int, int]:
        """(value, maximum) of a progress bar: by the time spent for a budget run, else by steps."""
        if self.budget_s:
            return round(min(self.elapsed_s, self.budget_s) * 10), max(1, round(self.budget_s * 10))
        return min(self.step, max(1, self.max_steps)), max(1, self.max_steps)


def progress(steps: list[float], times: list[float], max_steps: int, *,
             tokens_per_step: float | None = None, budget_s: float = 0.0, elapsed_s: float | None = None) -> Progress:
    """From the (step, event time) points of a run; `tokens_per_step` turns the step rate into tokens a second;
    a run with a time budget (`budget_s`) has the budget's time left, whatever its steps, by the run's own clock
    (`elapsed_s`: its set-up counted, as the budget counts it) where the run reports one."""
    start = _session_start(times)
    steps, times = list(steps[start:]), list(times[start:])
    step = int(steps[-1]) if steps else 0
    elapsed = times[-1] - times[0] if len(times) > 1 else 0.0
    if budget_s:
        elapsed = elapsed if elapsed_s is None else elapsed_s
        speed = _rate(steps, times, _since(times, SPEED_WINDOW_S)) if len(steps) > 1 and elapsed > 0 else 0.0
        return Progress(step, max_steps, max(0.0, budget_s - elapsed), False,
                        speed * tokens_per_step if tokens_per_step and speed else None, budget_s, elapsed)
    if len(steps) < 2 or times[-1] <= times[0] or steps[-1] <= steps[0]:
        return Progress(step, max_steps, None, True, None)
    window = _since(times, ETA_WINDOW_S)
    rate = _rate(steps, times, window)
    latest = _rate(steps, times, max(window, len(steps) - 1 - (len(steps) - window) // 3))
    speed = _rate(steps, times, _since(times, SPEED_WINDOW_S))
    left = max(0.0, (max_steps - steps[-1]) / rate) if rate > 0 else None
    unsure = len(steps) < MIN_POINTS or rate <= 0 or abs(latest / rate - 1) > STEADY
    return Progress(step, max_steps, left, unsure, speed * tokens_per_step if tokens_per_step else None)


def _since(times: list[float], seconds: float) -> int:
    """The first point of the last `seconds` (leaving at least two points)."""
    first = next(i for i, t in enumerate(times) if t >= times[-1] - seconds)
    return min(first, len(times) - 2)


def _rate(steps: list[float], times: list[float], start: int) -> float:
    """Steps a second from point `start` to the last."""
    start = min(start, len(steps) - 2)
    return (steps[-1] - steps[start]) / max(1e-9, times[-1] - times[start])


def _session_start(times: list[float]) -> int:
    """Where the latest training session begins: after a gap of more than ETA_WINDOW_S (a resume)."""
    for i in range(len(times) - 1, 0, -1):
        if times[i] - times[i - 1] > ETA_WINDOW_S:
            return i
    return 0
