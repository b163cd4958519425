"""One state behind every page (issue 36), through the window as a user drives it: one ETA and one paused text
in the Train header and the status bar; Train beside a training run asks; the queue never holds what trains;
pickers follow the best checkpoint unless the user chose one; a new source or another run clears what was
derived from the old one."""

import json
import shutil

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from engine.run.folder import checkpoints
from tests.studio.helpers import LONG, RUN_TIMEOUT, train_through_gui, write_corpus

WAIT = 120_000
"""A hang guard only: every wait below ends on a condition."""


def answer(button_text: str) -> None:
    """Press the button of the question the window is about to ask."""

    def press():
        box = QApplication.activeModalWidget()
        found = [b for b in box.buttons() if b.text().startswith(button_text)] if isinstance(box, QMessageBox) else []
        if found:
            found[0].click()
        else:
            QTimer.singleShot(20, press)

    QTimer.singleShot(0, press)


def test_one_eta_one_paused_text_and_a_second_run_asks(qtbot, window, tmp_path):
    run_dir = train_through_gui(qtbot, window, tmp_path, name="first", max_steps=LONG, eval_interval=500)
    train, model = window.train_page, window.model_page
    qtbot.waitUntil(lambda: train.run is not None and train.run.last_step is not None
                    and train.run.last_step.step >= 10, timeout=RUN_TIMEOUT)
    window._update_status()  # both views now, with no event between them
    train._update_header()
    assert "left" in train.eta.text() and "tokens/s" in train.eta.text()
    assert window.run_label.text() == f"Training first: {train.eta.text()}"
    assert not model.measure_btn.isEnabled() and "training" in model.measure_btn.toolTip()  # never beside a run

    qtbot.mouseClick(train.pause_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: train.status.text() == "Paused" and window.run_label.text().startswith("Paused"),
                    timeout=WAIT)
    assert train.eta.text().startswith("Paused at step") and window.run_label.text().endswith(train.eta.text())
    assert train.pause_btn.text() == "Resume" and train.resume_btn.isHidden()  # one Resume, never two

    model.form.widget("model", "n_head").setValue(3)  # 32 wide in 3 heads: Train refused, so is Add to queue
    assert not model.train_btn.isEnabled() and not model.queue_btn.isEnabled()
    model.form.widget("model", "n_head").setValue(2)
    assert model.train_btn.isEnabled() and not model.queue_btn.isEnabled()  # the same design trains already
    queue = window.queue_runner.queue
    assert queue.items() == []

    model.name.setText("second")
    assert model.queue_btn.isEnabled()  # another run: the queue takes it
    answer("Queue it")
    qtbot.mouseClick(model.train_btn, Qt.MouseButton.LeftButton)
    assert [i.name for i in queue.items()] == ["second"] and window.store.current == run_dir
    answer("Cancel")
    qtbot.mouseClick(model.train_btn, Qt.MouseButton.LeftButton)
    assert window.store.current == run_dir and len(window.client.procs) == 1
    answer("Run alongside (expect about 2× slower)")
    qtbot.mouseClick(model.train_btn, Qt.MouseButton.LeftButton)
    assert window.store.current != run_dir and len(window.client.procs) == 2
    assert queue.items() == []  # the queue never holds a run that trains
    qtbot.waitUntil(lambda: "(and 1 more)" in window.run_label.text(), timeout=WAIT)


def bump_best(run_dir, name: str) -> None:
    """Give a checkpoint the lowest validation loss, as a later evaluation would, and say so as the trainer does."""
    for ckpt, _, _ in checkpoints(run_dir):
        meta_file = run_dir / "checkpoints" / ckpt / "meta.json"
        meta = json.loads(meta_file.read_text())
        meta["val_loss"] = 0.5 if ckpt == name else max(1.0, meta.get("val_loss") or 1.0)
        meta_file.write_text(json.dumps(meta))


def open_copy(qtbot, settings, trained_run, tmp_path):
    from studio.main_window import MainWindow

    shutil.copytree(trained_run, tmp_path / "ws")
    settings.workspace = tmp_path / "ws"
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    return w, tmp_path / "ws" / "runs"


def test_pickers_follow_the_best_checkpoint_unless_the_user_chose_one(qtbot, settings, trained_run, tmp_path):
    window, runs = open_copy(qtbot, settings, trained_run, tmp_path)
    (run_dir,) = list(window.store.runs)
    inspect, play = window.inspect_page.picker, window.playground_page.left.picker
    bump_best(run_dir, "step-000020")
    window.store.sig_checkpoint.emit(run_dir)
    assert inspect.checkpoint() == play.checkpoint() == "step-000020"
    bump_best(run_dir, "step-000060")
    window.store.sig_checkpoint.emit(run_dir)
    assert inspect.checkpoint() == play.checkpoint() == "step-000060"
    play.checkpoints.setCurrentIndex(play.checkpoints.findData("step-000040"))  # the user's choice
    bump_best(run_dir, "step-000020")
    window.store.sig_checkpoint.emit(run_dir)
    assert inspect.checkpoint() == "step-000020" and play.checkpoint() == "step-000040"


def test_another_run_clears_what_was_shown_of_the_one_before(qtbot, settings, trained_run, tmp_path):
    window, runs = open_copy(qtbot, settings, trained_run, tmp_path)
    (first,) = list(window.store.runs)
    shutil.copytree(first, runs / "other")
    window.store.refresh()
    page = window.inspect_page
    page.picker.choose(first)
    page.steps.setValue(0)
    page._on_step_moved(0)  # the attention recorded during training, shown as the slider does
    assert page.maps is not None and "recorded during training" in page.status.text()
    column = window.playground_page.left
    column.picker.choose(first)
    qtbot.mouseClick(window.playground_page.generate_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "tokens" in column.state.text(), timeout=WAIT)
    assert column.output.toPlainText()

    page.picker.choose(runs / "other")
    column.picker.choose(runs / "other")
    assert page.maps is None and page.status.text() == "" and page.placeholder.isVisibleTo(page)
    assert column.output.toPlainText() == "" and column.state.text() == ""


def test_a_new_source_clears_what_was_derived_from_the_old_one(qtbot, window, tmp_path):
    page = window.corpus_page
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("source,target\n" + "".join(f"hello {i},bonjour {i}\n" for i in range(40)))
    page.set_sources([pairs])
    qtbot.waitUntil(lambda: not page.pairs_view.isHidden(), timeout=WAIT)

    page.set_sources([tmp_path / "nowhere.txt"])  # a path that does not exist
    qtbot.waitUntil(lambda: "b91c1c" in page.progress_label.text(), timeout=WAIT)
    assert page.pairs_view.isHidden() and window.state.corpus.error

    page.set_sources([write_corpus(tmp_path)])
    assert page.progress_label.text() == "" and not window.state.corpus.error
    qtbot.mouseClick(page.prepare_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.progress_label.text().startswith("Ready"), timeout=WAIT)
    assert window.state.corpus.prepared is not None

    page.set_sources([write_corpus(tmp_path, "other.txt")])
    assert page.progress_label.text() == "" and page.progress.value() == 0 and window.state.corpus.prepared is None
    model = window.model_page  # which trains on what its form holds, and says the Corpus page shows another
    assert model.corpus_note.text().startswith("The Corpus page shows other.txt, but this run trains on ")
    qtbot.mouseClick(page.prepare_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.use_btn.isEnabled(), timeout=WAIT)
    qtbot.mouseClick(page.use_btn, Qt.MouseButton.LeftButton)
    assert model.form.config()[0].data.path.endswith("other.txt") and model.corpus_note.text() == ""
