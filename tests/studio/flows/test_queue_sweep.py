"""The queue and sweeps in the studio: Sweep… queues every point, the queue runs them one after another,
the Runs page groups the sweep, plots its final validation loss and marks the best; the queue can be
paused, reordered and emptied, and it is still there for a new window."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from engine.runqueue.queue_file import RunQueue
from studio.widgets.sweep_dialog import SweepDialog, parse_values
from tests.studio.conftest import tiny_model
from tests.studio.helpers import RUN_TIMEOUT, write_corpus


def ready_model_page(qtbot, window, tmp_path, name):
    window.corpus_page.set_sources([write_corpus(tmp_path)])
    qtbot.mouseClick(window.corpus_page.prepare_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(window.corpus_page.use_btn.isEnabled, timeout=30000)
    qtbot.mouseClick(window.corpus_page.use_btn, Qt.MouseButton.LeftButton)
    page = window.model_page
    page.name.setText(name)
    tiny_model(page, max_steps=6, eval_interval=3)
    return page


def test_values_are_lists_ranges_or_log_ranges():
    assert parse_values("1e-3, 3e-4") == [1e-3, 3e-4]
    assert parse_values("rope, learned") == ["rope", "learned"]
    assert parse_values("0 .. 4") == {"min": 0, "max": 4, "log": False}
    assert parse_values("log 1e-4 .. 1e-2") == {"min": 1e-4, "max": 1e-2, "log": True}


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_a_sweep_from_the_model_page_runs_through_the_queue_and_shows_its_best_point(qtbot, window, tmp_path,
                                                                                      monkeypatch):
    page = ready_model_page(qtbot, window, tmp_path, "tiny")

    def choose(dialog):
        dialog.name.setText("lr")
        dialog.rows[0][1].setText("3e-3, 1e-2")
        dialog.rows[1][0].setCurrentText("model.n_head")
        dialog.rows[1][1].setText("2, 3")  # 3 does not divide the width: refused before anything is queued
        assert "point 1 (train.lr = 0.003, model.n_head = 3)" in dialog.summary.text()
        assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
        dialog.rows[1][1].setText("")
        assert dialog.buttons.button(dialog.buttons.StandardButton.Ok).text() == "Queue 2 runs"
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(SweepDialog, "exec", choose)
    qtbot.mouseClick(page.sweep_btn, Qt.MouseButton.LeftButton)
    queue = RunQueue(window.store.workspace)
    qtbot.waitUntil(lambda: not queue.items() and len(window.store.runs) == 2, timeout=RUN_TIMEOUT)
    runs = window.runs_page
    qtbot.waitUntil(lambda: all(r.summary.status == "finished" for r in window.store.runs.values()),
                    timeout=RUN_TIMEOUT)
    window.store.refresh()
    runs.show_sweep("lr")
    assert runs.show_combo.currentText() == "Sweep: lr" and runs.table.rowCount() == 2
    assert runs.sweep_view.field.currentText() == "train.lr"
    assert len(runs.sweep_view.points.xData) == 2
    finals = {r.summary.name: r.curves["val_loss"].values[-1] for r in window.store.runs.values()}
    best = min(finals, key=finals.get)
    assert runs.sweep_view.caption.text().startswith(f"Best: {best}, final validation loss {finals[best]:.4f}")
    bold = [runs.table.item(r, 0).text() for r in range(2) if runs.table.item(r, 0).font().bold()]
    assert bold == [best]
    starts = sorted((r.summary.started, r.summary.name) for r in window.store.runs.values())
    assert [name for _, name in starts] == ["lr-000", "lr-001"]  # one after another, in the queue's order


def test_the_queue_is_paused_reordered_and_kept_for_a_new_window(qtbot, window, tmp_path):
    page = ready_model_page(qtbot, window, tmp_path, "first")
    panel = window.runs_page.queue_panel
    qtbot.mouseClick(panel.buttons["pause"], Qt.MouseButton.LeftButton)
    assert panel.buttons["pause"].text() == "Resume the queue"
    qtbot.mouseClick(page.queue_btn, Qt.MouseButton.LeftButton)
    page.name.setText("second")
    qtbot.mouseClick(page.queue_btn, Qt.MouseButton.LeftButton)
    window.queue_runner.tick()
    assert [panel.list.item(i).text() for i in range(panel.list.count())] == ["first", "second"]
    assert not window.store.runs  # paused: nothing started
    panel.list.setCurrentRow(1)
    qtbot.mouseClick(panel.buttons["up"], Qt.MouseButton.LeftButton)
    assert [i.name for i in RunQueue(window.store.workspace).items()] == ["second", "first"]
    from studio.runs.queue_panel import QueuePanel

    again = QueuePanel(window.store)  # a new window reads the same queue
    qtbot.addWidget(again)
    assert [again.list.item(i).text() for i in range(again.list.count())] == ["second", "first"]
    assert "paused" in again.note.text()
    panel.list.setCurrentRow(0)
    qtbot.mouseClick(panel.buttons["remove"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.buttons["pause"], Qt.MouseButton.LeftButton)  # resume: "first" starts
    qtbot.waitUntil(lambda: any(r.summary.name == "first" for r in window.store.runs.values()), timeout=RUN_TIMEOUT)
    assert panel.list.count() == 0 or panel.note.text().startswith("No runs")


def test_with_two_gpus_the_queue_starts_one_run_on_each(qtbot, tmp_path):
    from engine.config import schema as config_mod
    from studio.runs.queue_runner import QueueRunner
    from studio.store import Store

    class Client:  # what the runner asks of the trainer client; records the starts instead of training
        def __init__(self):
            self.started = []

        def start_queued(self, item, env=None):
            self.started.append((item.name, env["CUDA_VISIBLE_DEVICES"]))
            return tmp_path / item.name

        def is_alive(self, run_dir):
            return True

    store = Store(tmp_path / "ws")
    queue = RunQueue(store.workspace)
    cfg = config_mod.RunConfig()
    for name in ("a", "b", "c"):
        cfg.name = name
        queue.add(cfg)
    client = Client()
    runner = QueueRunner(store, client, gpus=2, poll_ms=60_000)
    runner.tick()
    assert client.started == [("a", "0"), ("b", "1")] and [i.name for i in queue.items()] == ["c"]
    runner.tick()  # both GPUs busy: the third waits
    assert len(client.started) == 2
    client.is_alive = lambda run_dir: run_dir.name != "a"  # the run on GPU 0 ends
    runner.tick()
    assert client.started[-1] == ("c", "0")
