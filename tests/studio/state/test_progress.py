"""The one computation of a run's time left and throughput, driven by the event times alone (no clock)."""

import pytest

from engine.core.text import human_seconds
from studio.state.progress import progress


def test_tokens_per_second_follow_a_slowdown_within_the_speed_window():
    steps = list(range(0, 61))
    times = [s * 0.1 for s in steps[:41]] + [4.0 + 2.7 * (i + 1) for i in range(20)]  # then 2.7 s a step
    p = progress(steps, times, 1000, tokens_per_step=100)
    assert p.tokens_per_s == pytest.approx(100 / 2.7, rel=0.05)  # not the 1,000 tokens/s of the fast start
    assert p.unsure and "unsure" in p.eta_text()


def test_a_steady_run_reads_the_same_figures_every_time():
    steps, times = list(range(0, 100, 10)), [i * 1.0 for i in range(10)]
    p = progress(steps, times, 190, tokens_per_step=64)
    assert p == progress(steps, times, 190, tokens_per_step=64)
    assert p.seconds_left == pytest.approx(10.0) and not p.unsure
    assert p.tokens_per_s == pytest.approx(640) and p.speed_text() == "640 tokens/s"
    assert p.where_text() == "step 90 of 190" and p.eta_text() == f"about {human_seconds(10.0)} left"


def test_too_few_points_measure_nothing_yet():
    p = progress([3], [1.0], 10)
    assert p.seconds_left is None and p.tokens_per_s is None and p.eta_text() == "time left: measuring…"
    assert p.step == 3
