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


def test_a_time_budget_run_has_the_budgets_time_left_and_its_bar_goes_by_time():
    steps = [float(s) for s in range(0, 50, 5)]
    times = [100.0 + s * 0.2 for s in range(10)]  # 1.8 s of steps so far
    p = progress(steps, times, 4000, budget_s=10.0, tokens_per_step=64)
    assert p.seconds_left == pytest.approx(10.0 - 1.8) and not p.unsure
    assert p.bar() == (18, 100)  # 1.8 of 10 s, not 45 of the 4000-step cap
    assert "of a 10.0 s budget" in p.where_text() and "4,000" not in p.where_text()
    assert p.tokens_per_s == pytest.approx(25 * 64)
    late = progress(steps, [100.0 + s * 2 for s in range(10)], 4000, budget_s=10.0)
    assert late.seconds_left == 0 and late.bar() == (100, 100)  # an overrun reads full, never past it
    plain = progress(steps, times, 100)
    assert plain.bar() == (45, 100) and plain.where_text() == "step 45 of 100"


def test_a_time_budget_run_counts_by_its_own_clock_its_set_up_included():
    """The budget counts from the command's start (the engine's `elapsed`), not from the first step event: a run
    that ended on time reads its whole budget spent, as its log says, with a full bar."""
    steps = [float(s) for s in range(0, 50, 5)]
    times = [100.0 + s * 6.4 for s in range(10)]  # 57.6 s between the first and last step events
    done = progress(steps, times, 4000, budget_s=60.0, elapsed_s=60.0)
    assert done.where_text() == "step 45, 1 min of a 1 min budget" and done.bar() == (600, 600)
    assert done.seconds_left == 0
    midway = progress(steps, times, 4000, budget_s=120.0, elapsed_s=97.6)  # not "2 min of a 2 min budget"
    assert midway.where_text() == "step 45, 1 min 38 s of a 2 min budget" and midway.bar() == (976, 1200)  # tenths of a second


def test_the_store_keeps_the_runs_clock_from_its_steps_and_its_end(tmp_path):
    import json

    from engine.run.events import Event
    from engine.run.folder import EVENTS_FILE
    from studio.store import RunState

    step = {"v": 1, "type": "step", "time": 1.0, "step": 10, "loss": 2.0, "lr": 1e-3, "tokens_per_s": 900.0,
            "elapsed": 12.5, "eta": 1.0}
    (tmp_path / EVENTS_FILE).write_text(json.dumps(step) + "\n")
    run = RunState(tmp_path, summary=None)
    assert run.elapsed == 12.5  # read with the run's events, on first use
    run.apply([Event.from_dict({"v": 1, "type": "finished", "time": 2.0, "step": 12, "reason": "finished",
                                "elapsed": 14.0})])
    assert run.elapsed == 14.0


def test_a_run_whose_total_is_not_known_yet_says_its_step_alone():
    """At the start of a training the total can be unknown (0): both views say "step 0", never "of 0" or "of 1"."""
    start = progress([], [], 0)
    assert start.where_text() == "step 0" and start.bar() == (0, 1)
    assert progress([0.0], [1.0], 300).where_text() == "step 0 of 300"
