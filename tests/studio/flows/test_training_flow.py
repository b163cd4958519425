"""End to end through the GUI alone: corpus file -> model form -> Train -> live plots -> finished run;
a killed trainer is reported and resumed; the Runs page compares and deletes runs."""

import os
import signal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from engine.model.checkpoint import list_checkpoints
from engine.run.events import read_events
from tests.studio.helpers import LONG, RUN_TIMEOUT, train_through_gui


def test_from_a_corpus_file_to_a_finished_run(qtbot, window, tmp_path):
    run_dir = train_through_gui(qtbot, window, tmp_path)
    page = window.train_page
    qtbot.waitUntil(lambda: page.status.text() == "Finished", timeout=RUN_TIMEOUT)
    events = read_events(run_dir / "events.jsonl")
    steps = [e for e in events if e.type == "step"]
    assert len(steps) == 30 and events[-1].type == "finished"
    qtbot.waitUntil(lambda: page.loss_plot.point_count("train") == 30, timeout=5000)
    assert list(page.loss_plot.series["train (raw)"].yData) == [e["loss"] for e in steps]
    assert page.loss_plot.point_count("validation") == 4  # steps 0, 10, 20, 30
    assert {p.name for p in run_dir.iterdir()} >= {"run.toml", "tokenizer.json", "events.jsonl", "checkpoints",
                                                   "train.log", "attention"}
    assert [c.step for c in list_checkpoints(run_dir)] == [20, 30] or list_checkpoints(run_dir)[-1].step == 30
    assert "step 30" in page.samples.toPlainText()
    assert page.progress.value() == 30 and not page.stop_btn.isEnabled()


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_a_killed_trainer_is_reported_and_can_be_resumed(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setenv("ENGINE_FAULT_HOLD_AT", "20")  # the first trainer waits at step 20 for its kill
    run_dir = train_through_gui(qtbot, window, tmp_path, name="killed", max_steps=LONG, eval_interval=20,
                                log_interval=1)
    page = window.train_page
    qtbot.waitUntil(lambda: any(c.step >= 20 for c in list_checkpoints(run_dir)), timeout=RUN_TIMEOUT)
    os.kill(window.client.procs[run_dir].pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: "killed" in page.message.text(), timeout=10000)
    assert page.status.text() == "Interrupted"
    assert page.resume_btn.isEnabled() and not page.stop_btn.isEnabled()
    window.nav.setCurrentRow(1)  # the window still answers
    assert window.stack.currentWidget() is window.model_page
    qtbot.mouseClick(page.resume_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.status.text() == "Training", timeout=RUN_TIMEOUT)
    qtbot.mouseClick(page.stop_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.status.text() == "Stopped", timeout=RUN_TIMEOUT)
    started = [e for e in read_events(run_dir / "events.jsonl") if e.type == "started"]
    assert started[-1].get("resumed_from", "").startswith("step-")


def test_pause_and_resume_from_the_train_page(qtbot, window, tmp_path):
    train_through_gui(qtbot, window, tmp_path, name="paused", max_steps=LONG, eval_interval=500)
    page = window.train_page
    qtbot.waitUntil(lambda: page.pause_btn.isEnabled() and page.run.last_step is not None, timeout=RUN_TIMEOUT)
    qtbot.mouseClick(page.pause_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.status.text() == "Paused", timeout=20000)
    paused_at = page.run.last_step.step
    assert page.pause_btn.text() == "Resume"
    from engine.run.runinfo import summarize

    assert summarize(window.store.current).status == "paused"  # in `engine runs` and the Runs table too
    qtbot.mouseClick(page.pause_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.run.last_step.step > paused_at + 5, timeout=20000)
    qtbot.mouseClick(page.stop_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.status.text() == "Stopped", timeout=RUN_TIMEOUT)


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_runs_page_compares_and_deletes(qtbot, window, tmp_path, monkeypatch):
    first = train_through_gui(qtbot, window, tmp_path, name="first", max_steps=10)
    qtbot.waitUntil(lambda: window.train_page.status.text() == "Finished", timeout=RUN_TIMEOUT)
    window.model_page.form.widget("model", "n_layer").setValue(2)
    window.model_page.name.setText("second")
    qtbot.mouseClick(window.model_page.train_btn, Qt.MouseButton.LeftButton)
    second = window.store.current
    qtbot.waitUntil(lambda: window.train_page.status.text() == "Finished", timeout=RUN_TIMEOUT)
    runs = window.runs_page
    window.store.refresh()
    assert runs.table.rowCount() == 2
    runs.select([first, second])
    diff = runs.diff.toPlainText().splitlines()
    assert len(diff) == 1 and diff[0].startswith("model.n_layer: ")
    assert "first=1" in diff[0] and "second=2" in diff[0]
    assert set(runs.plot.series) == {"first", "second"}
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Yes)
    runs.select([first])
    qtbot.mouseClick(runs.buttons["delete"], Qt.MouseButton.LeftButton)
    assert not first.exists() and runs.table.rowCount() == 1


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_two_data_parallel_processes_from_the_model_page(qtbot, window, tmp_path):
    run_dir = train_through_gui(qtbot, window, tmp_path, name="two", max_steps=10, eval_interval=5, processes=2)
    page = window.train_page
    qtbot.waitUntil(lambda: page.status.text() == "Finished", timeout=RUN_TIMEOUT)
    started = [e for e in read_events(run_dir / "events.jsonl") if e.type == "started"]
    assert [e["world_size"] for e in started] == [2]
    qtbot.waitUntil(lambda: page.loss_plot.point_count("train") == 10, timeout=5000)


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_extend_a_finished_run_from_the_train_page(qtbot, window, tmp_path, monkeypatch):
    run_dir = train_through_gui(qtbot, window, tmp_path, name="longer", max_steps=10)
    page = window.train_page
    qtbot.waitUntil(lambda: page.status.text() == "Finished", timeout=RUN_TIMEOUT)
    assert page.resume_btn.text() == "Extend…"
    asked = []
    monkeypatch.setattr("studio.train.page.ask_total_steps", lambda parent, current: asked.append(current) or 15)
    qtbot.mouseClick(page.resume_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.run.last_step is not None and page.run.last_step.step == 15
                    and page.status.text() == "Finished", timeout=RUN_TIMEOUT)
    assert asked == [10]
    assert max(e.step for e in read_events(run_dir / "events.jsonl") if e.type == "step") == 15
