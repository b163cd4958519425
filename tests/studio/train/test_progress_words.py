"""The Train page's progress and the status bar say where a run is in the same words from its start, when its
total is not known yet (one Progress: studio/state/progress.py): never "step 0 of 1" beside "step 0 of 0"."""

import pytest

from tests.studio.helpers import LONG, train_through_gui

WAIT = 120_000
"""A hang guard only: the wait ends on a condition."""


@pytest.mark.slow  # a trainer process started
def test_the_train_page_and_the_status_bar_say_the_same_step_from_the_start(qtbot, window, tmp_path):
    run_dir = train_through_gui(qtbot, window, tmp_path, name="start", max_steps=LONG, eval_interval=500)
    train, training = window.train_page, window.state.training
    window._update_status()
    qtbot.waitUntil(lambda: training.is_training(run_dir), timeout=WAIT)
    for _ in range(2):  # at the start, then once its first step is recorded
        window._update_status()  # both views now, with no event between them
        train._update_header()
        where = train.progress.format()
        status = window.run_label.text()
        assert status.startswith("Training start") and status.split(": ", 1)[1].split(" · ")[0] == where
        assert not where.endswith((" of 0", " of 1")), where
        qtbot.waitUntil(lambda: train.run.last_step is not None, timeout=WAIT)
