"""Reliability of the studio: runs deleted under it, the GUI dying mid-run, failing trainers, bad values."""

import shutil

import pytest
from PySide6.QtCore import Qt

from engine.run.events import read_events
from tests.studio.conftest import close_keeping_runs, tiny_model
from tests.studio.helpers import LONG, RUN_TIMEOUT, train_through_gui


def test_a_run_folder_deleted_while_shown_goes_quietly(qtbot, window, tmp_path):
    run_dir = train_through_gui(qtbot, window, tmp_path, name="doomed", max_steps=10)
    qtbot.waitUntil(lambda: window.train_page.status.text() == "Finished", timeout=RUN_TIMEOUT)
    window.nav.setCurrentRow(3)
    shutil.rmtree(run_dir)
    qtbot.mouseClick(window.runs_page.buttons["refresh"], Qt.MouseButton.LeftButton)
    assert window.runs_page.table.rowCount() == 0
    assert window.store.current is None and window.train_page.run is None


def test_the_trainer_outlives_the_gui_and_is_reattached(qtbot, window, tmp_path, settings):
    run_dir = train_through_gui(qtbot, window, tmp_path, name="survivor", max_steps=LONG, eval_interval=500)
    proc = window.client.procs[run_dir]
    qtbot.waitUntil(lambda: window.train_page.run.last_step is not None, timeout=RUN_TIMEOUT)
    window.client.procs.clear()  # the GUI "dies": it forgets its child without stopping it
    window.client.timer.stop()
    close_keeping_runs(window)  # (it still follows the run, so it asks first)
    assert proc.poll() is None  # still training
    from studio.main_window import MainWindow

    again = MainWindow(settings)
    qtbot.addWidget(again)
    try:
        assert again.store.current == run_dir
        seen = again.train_page.run.last_step.step if again.train_page.run.last_step else 0
        qtbot.waitUntil(lambda: again.train_page.run.last_step and again.train_page.run.last_step.step > seen + 5,
                        timeout=RUN_TIMEOUT)
        assert again.train_page.status.text() == "Training" and again.train_page.stop_btn.isEnabled()
        qtbot.mouseClick(again.train_page.stop_btn, Qt.MouseButton.LeftButton)
        assert proc.wait(timeout=900) == 0
        assert read_events(run_dir / "events.jsonl")[-1]["reason"] == "stopped"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_trainer_that_fails_at_start_is_explained(qtbot, window, tmp_path):
    page = window.model_page
    page.name.setText("no-corpus")
    tiny_model(page)
    corpus = tmp_path / "gone.txt"
    corpus.write_text("words " * 500)
    page.form.widget("data", "path").setText(str(corpus))
    assert page.train_btn.isEnabled(), page.problems.text()
    corpus.unlink()  # gone after the form looked: pressing Train looks again and refuses
    qtbot.mouseClick(page.train_btn, Qt.MouseButton.LeftButton)
    assert "corpus not found" in page.problems.text() and window.stack.currentWidget() is not window.train_page
    cfg, _ = page.current_config()
    run_dir = window.start_training(cfg)  # a start the engine refuses anyway is a failed run, not a stuck one
    train = window.train_page
    qtbot.waitUntil(lambda: train.status.text() == "Failed", timeout=RUN_TIMEOUT)
    assert "corpus not found" in train.message.text() and train.back_btn.isVisible()
    assert not train.pause_btn.isEnabled() and not train.stop_btn.isEnabled() and train.progress.text() == ""
    qtbot.mouseClick(train.back_btn, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is page
    runs = window.runs_page
    rows = {runs.table.item(r, 0).data(Qt.ItemDataRole.UserRole): runs.table.item(r, 1).text()
            for r in range(runs.table.rowCount())}
    assert rows == {str(run_dir): "failed"}
    runs.select([run_dir])
    assert runs.buttons["delete"].isEnabled()


def test_out_of_range_values_are_refused_in_words(qtbot, window):
    page = window.model_page
    page.form.widget("data", "path").setText("/corpus.txt")
    page.form.widget("train", "lr").setText("-1")
    page.form.widget("model", "dropout").setValue(1.5)
    page.form.widget("train", "grad_accum").setValue(0)
    text = page.problems.text()
    assert "Learning rate [train.lr] must be positive" in text and "Dropout [model.dropout] must be in [0, 1)" in text
    assert "Gradient accumulation [train.grad_accum] must be at least 1" in text and not page.train_btn.isEnabled()


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_out_of_memory_offers_a_retry_with_the_same_global_batch(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setenv("ENGINE_FAULT_OOM_ABOVE", "2")  # micro-batches above 2 run out of memory
    train_through_gui(qtbot, window, tmp_path, name="big-batch", batch_size=4, grad_accum=1, max_steps=10)
    page = window.train_page
    qtbot.waitUntil(lambda: page.retry_btn.isVisible(), timeout=RUN_TIMEOUT)
    assert "out of memory" in page.message.text() and "Batch size [train.batch_size] = 2" in page.message.text()
    assert page.retry_btn.text() == "Retry with batch 2 × accumulation 2"
    qtbot.mouseClick(page.retry_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.status.text() == "Finished", timeout=RUN_TIMEOUT)
    cfg = window.store.run(window.store.current).summary.config
    assert (cfg.train.batch_size, cfg.train.grad_accum) == (2, 2)


def test_unhealthy_steps_are_marked_on_the_loss_curve(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setenv("ENGINE_FAULT_NAN_STEPS", "5,6")
    train_through_gui(qtbot, window, tmp_path, name="nan", max_steps=12)
    page = window.train_page
    qtbot.waitUntil(lambda: page.status.text() == "Finished", timeout=RUN_TIMEOUT)
    qtbot.waitUntil(lambda: len(page.loss_plot.markers.data) == 2, timeout=5000)
    assert sorted(page.loss_plot.markers.data["x"]) == [5, 6]
    assert "policy: skip" in page.log.toPlainText()


def test_a_model_too_big_for_memory_is_refused_on_the_form(qtbot, window):
    page = window.model_page
    page.form.widget("data", "path").setText("/corpus.txt")
    page.form.widget("train", "device").setCurrentText("cpu")
    page.form.widget("model", "n_head").setValue(1)
    page.form.widget("model", "n_embd").setValue(1_048_576)
    text = page.problems.text()
    assert "of memory by the estimate, but this machine has" in text and "narrower model" in text
    assert not page.train_btn.isEnabled()
