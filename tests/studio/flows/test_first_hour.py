"""The studio's first hour as a newcomer meets it (issue 12): each test acts as the user did."""

import importlib.util
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QScrollArea

from studio.runs.page import COLUMNS
from studio.state.progress import progress
from tests.studio.conftest import close_keeping_runs, tiny_model
from tests.studio.helpers import shown_text, write_corpus

NAMES = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper", "evelyn", "abigail"]


def names_file(tmp_path: Path, n: int = 600) -> Path:
    path = tmp_path / "names.txt"
    path.write_text("\n".join(NAMES[i % len(NAMES)] + ("" if i < len(NAMES) else str(i % 7)) for i in range(n)) + "\n")
    return path


def wheel(widget, notches: int = -3) -> None:
    """Turn the mouse wheel over `widget` (negative: towards the user, which scrolls down)."""
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0),
                        QPoint(0, 120 * notches), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


# 1 -------------------------------------------------------------------------------------------------
def test_the_wheel_scrolls_the_form_and_never_changes_an_unfocused_setting(qtbot, window):
    window.nav.setCurrentRow(1)
    page = window.model_page
    objective = page.form.widget("model", "objective")
    layers = page.form.widget("model", "n_layer")
    scroll = page.findChild(QScrollArea)
    qtbot.waitUntil(lambda: scroll.verticalScrollBar().maximum() > 0, timeout=5000)
    before = scroll.verticalScrollBar().value()
    wheel(objective)
    wheel(layers.lineEdit())  # the spin box's own text field is part of it
    assert objective.currentText() == "causal" and layers.value() == 4
    assert scroll.verticalScrollBar().value() > before  # the form scrolled instead
    assert objective.focusPolicy() == Qt.FocusPolicy.StrongFocus
    objective.setFocus()
    qtbot.waitUntil(objective.hasFocus, timeout=2000)
    wheel(objective, notches=-1)
    assert objective.currentText() != "causal"  # a setting the user chose to focus does take the wheel


# 2, 3 -----------------------------------------------------------------------------------------------
def test_a_classifier_on_plain_text_is_refused_on_the_form_in_plain_words(qtbot, window, tmp_path):
    page = window.model_page
    tiny_model(page)
    page.form.widget("data", "path").setText(str(write_corpus(tmp_path)))
    assert page.train_btn.isEnabled(), page.problems.text()
    page.form.widget("model", "objective").setCurrentText("classify")
    text = shown_text(page.problems)
    assert "corpus.txt is plain text" in text and "'label'" in text and "&#" not in text
    assert not page.train_btn.isEnabled()
    (tmp_path / "t.csv").write_text("body,label\nhello there,a\ngeneral kenobi,b\n")
    page.form.widget("data", "path").setText(str(tmp_path / "t.csv"))
    assert "t.csv has no column 'text'; its columns are body, label" in shown_text(page.problems)
    page.form.widget("data", "text_column").setText("body")
    assert "column" not in shown_text(page.problems), shown_text(page.problems)
    page.form.widget("train", "lr").setText("fast")
    assert "got 'fast'" in shown_text(page.problems)  # quotes as typed, not &#x27;


# 4 -------------------------------------------------------------------------------------------------
def test_a_context_too_big_for_memory_is_refused_with_the_numbers(qtbot, window, tmp_path, monkeypatch):
    from studio.state import design

    monkeypatch.setattr(design, "available_ram", lambda: 24 << 30)
    page = window.model_page
    page.form.widget("data", "path").setText(str(write_corpus(tmp_path)))
    page.form.widget("train", "device").setCurrentText("cpu")
    page.form.widget("model", "block_size").setValue(100_000)
    text = shown_text(page.problems)
    assert "of memory by the estimate, but this machine has 24.0 GiB available" in text
    assert not page.train_btn.isEnabled()
    assert "idle machine" in page.card.text("assumes") and "evaluations every" in page.card.text("assumes")


def test_a_gpu_too_small_is_refused_with_its_name(qtbot, window, tmp_path):
    from studio.model.hardware import parse_gpus

    page = window.model_page
    page.devices += parse_gpus("NVIDIA GeForce RTX 3060, 12288\n")
    page.form.widget("train", "device").addItem("cuda:0")
    page.form.widget("data", "path").setText(str(write_corpus(tmp_path)))
    page.form.widget("train", "device").setCurrentText("cuda:0")
    page.form.widget("model", "block_size").setValue(100_000)
    assert "but NVIDIA GeForce RTX 3060 has 12.0 GiB available" in shown_text(page.problems)


def test_fp8_is_refused_before_train_on_a_gpu_without_fp8_tensor_cores(qtbot, window, tmp_path):
    from studio.model.hardware import parse_gpus

    page = window.model_page
    gpus = parse_gpus("NVIDIA A100-SXM4-80GB, 81920, 8.0\nNVIDIA H200, 143771, 9.0\n")
    assert [(g.name, g.memory, g.capability) for g in gpus] == [("NVIDIA A100-SXM4-80GB", 81920 << 20, (8, 0)),
                                                               ("NVIDIA H200", 143771 << 20, (9, 0))]
    page.devices += gpus
    page.form.widget("train", "device").addItems(["cuda:0", "cuda:1"])
    page.form.widget("data", "path").setText(str(write_corpus(tmp_path)))
    page.form.widget("train", "precision").setCurrentText("fp8")
    page.form.widget("train", "device").setCurrentText("cuda:0")
    assert 'NVIDIA A100-SXM4-80GB has none: use "bf16"' in shown_text(page.problems)
    assert not page.train_btn.isEnabled()
    page.form.widget("train", "device").setCurrentText("cuda:1")
    assert "has none" not in shown_text(page.problems)  # the H200 has fp8 tensor cores
    # what is left, if anything, is the package: ./dev installs torchao beside an NVIDIA GPU only
    torchao_missing = importlib.util.find_spec("torchao") is None
    assert ("fp8" in shown_text(page.problems)) == torchao_missing
    assert ("needs the torchao package" in shown_text(page.problems)) == torchao_missing
    page.form.widget("train", "precision").setCurrentText("fp16")
    page.form.widget("train", "device").setCurrentText("cpu")
    assert 'Precision [train.precision] = "fp16" needs a CUDA GPU' in shown_text(page.problems)


def test_an_old_driver_listing_without_compute_capability_still_gives_the_gpus():
    from studio.model.hardware import parse_gpus

    (gpu,) = parse_gpus("NVIDIA GeForce RTX 3060, 12288\n")
    assert (gpu.name, gpu.memory, gpu.capability) == ("NVIDIA GeForce RTX 3060", 12288 << 20, None)


def test_the_eta_follows_the_wall_clock_and_says_when_it_is_unsure():
    steady = progress([float(s) for s in range(0, 200, 10)], [s * 0.5 for s in range(20)], 1000)  # 20 steps a s
    assert not steady.unsure and steady.seconds_left == pytest.approx((1000 - 190) / 20)
    slowing = progress([0, 10, 20, 30, 40, 50, 60], [0, 0.5, 1, 1.5, 2, 12, 22], 1000)  # the machine got busy
    assert slowing.unsure and "unsure" in slowing.eta_text() and slowing.seconds_left > (1000 - 60) / 20
    few = progress([0, 10, 20], [0, 1, 2], 100)
    assert few.unsure
    resumed = progress([0, 10, 20, 500, 510, 520, 530, 540], [0, 1, 2, 1000, 1001, 1002, 1003, 1004], 1000)
    assert resumed.seconds_left == pytest.approx(46) and not resumed.unsure  # the pause before the resume is not speed
    assert progress([5], [1.0], 10).seconds_left is None


# 5, 6 ------------------------------------------------------------------------------------------------
@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_reopening_restores_the_work_and_follows_a_live_run(qtbot, window, tmp_path, settings):
    from studio.main_window import MainWindow
    from tests.studio.flows.test_training_flow import LONG, RUN_TIMEOUT, train_through_gui

    window.setGeometry(120, 90, 1111, 777)
    run_dir = train_through_gui(qtbot, window, tmp_path, name="names-model", max_steps=LONG, eval_interval=1000)
    window.model_page.form.widget("model", "n_layer").setValue(3)
    proc = window.client.procs[run_dir]
    try:
        qtbot.waitUntil(lambda: window.train_page.run.last_step is not None, timeout=RUN_TIMEOUT)
        close_keeping_runs(window)
        window.client.procs.clear()  # the window is gone; its trainer is not (the fixture must not kill it)
        window.client.timer.stop()
        again = MainWindow(settings)
        qtbot.addWidget(again)
        again.show()
        assert again.geometry().getRect() == (120, 90, 1111, 777)
        assert again.restored and again.corpus_page.path.text() == str(tmp_path / "corpus.txt")
        assert again.model_page.form.widget("model", "n_layer").value() == 3
        assert again.model_page.name.text() == "names-model"
        assert again.stack.currentWidget() is again.train_page
        qtbot.waitUntil(lambda: "Training names-model: step" in again.run_label.text(), timeout=RUN_TIMEOUT)
        runs = again.runs_page
        row = next(r for r in range(runs.table.rowCount()) if runs.table.item(r, 0).text() == "names-model")
        steps = COLUMNS.index("Steps")
        shown = int(runs.table.item(row, steps).text().split("/")[0])
        qtbot.waitUntil(lambda: int(runs.table.item(row, steps).text().split("/")[0]) > shown + 3, timeout=RUN_TIMEOUT)
        assert runs.table.item(row, 1).text() == "running"
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_the_runs_table_keeps_a_selection_of_several_runs_over_refresh(qtbot, window, tmp_path):
    from tests.studio.flows.test_training_flow import RUN_TIMEOUT, train_through_gui

    first = train_through_gui(qtbot, window, tmp_path, name="one", max_steps=4, eval_interval=2)
    qtbot.waitUntil(lambda: window.train_page.status.text() == "Finished", timeout=RUN_TIMEOUT)
    window.model_page.name.setText("two")
    qtbot.mouseClick(window.model_page.train_btn, Qt.MouseButton.LeftButton)
    second = window.store.current
    qtbot.waitUntil(lambda: window.train_page.status.text() == "Finished", timeout=RUN_TIMEOUT)
    runs = window.runs_page
    runs.select([first, second])
    qtbot.mouseClick(runs.buttons["refresh"], Qt.MouseButton.LeftButton)
    assert set(runs.selected()) == {first, second} and runs.plot.point_count("one") == 3


def test_the_demo_is_offered_on_the_first_start_only(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from studio.main_window import MainWindow
    from studio.settings import Settings

    settings = Settings(QSettings(str(tmp_path / "fresh.ini"), QSettings.Format.IniFormat))
    settings.workspace = tmp_path / "ws"
    first = MainWindow(settings)
    qtbot.addWidget(first)
    assert settings.first_start and not first.restored
    first.offer_demo()  # what app.main does on a first start
    mine = names_file(tmp_path)
    first.corpus_page.set_sources([mine])
    first.save_session()
    second = MainWindow(settings)
    qtbot.addWidget(second)
    assert not settings.first_start and second.restored
    assert second.corpus_page.path.text() == str(mine)  # the user's corpus, not the demo's


# 7, 8 ------------------------------------------------------------------------------------------------
def test_a_file_of_names_is_read_one_document_per_line(qtbot, window, tmp_path):
    page = window.corpus_page
    page.set_sources([names_file(tmp_path)])
    qtbot.waitUntil(lambda: page.suggestion.isVisible(), timeout=20000)
    assert page.preview.toPlainText().startswith("1 document. It reads:")
    assert "one document per line" in page.suggestion.text()
    qtbot.mouseClick(page.suggest_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.preview.toPlainText().startswith("600 documents. The first 30:"), timeout=20000)
    assert not page.suggestion.isVisible() and page.data_config().data.documents == "line"
    assert page.sentence.text() == "emma"  # a record of this corpus to show as tokens, not an English pangram
    qtbot.mouseClick(page.prepare_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(page.use_btn.isEnabled, timeout=30000)
    assert page.stats.text("documents") == "600"
    qtbot.mouseClick(page.use_btn, Qt.MouseButton.LeftButton)
    cfg, _ = window.model_page.current_config()
    assert cfg.data.documents == "line" and window.model_page.corpus_tokens == page.tokens


def test_a_failed_load_after_a_good_one_leaves_no_old_panels(qtbot, window, tmp_path):
    page = window.corpus_page
    assert page.use_note.isVisible() and "Press Prepare first" in page.use_note.text()
    page.set_sources([write_corpus(tmp_path)])
    qtbot.mouseClick(page.prepare_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(page.use_btn.isEnabled, timeout=30000)
    assert page.vocab_list.count() > 0 and page.stats.text("tokens") != "–" and not page.use_note.isVisible()
    (tmp_path / "bad.txt").write_bytes(b"\x00\x01binary")
    page.set_sources([tmp_path / "bad.txt"])
    qtbot.waitUntil(lambda: "looks binary" in page.progress_label.text(), timeout=20000)
    assert page.vocab_list.count() == 0 and page.stats.text("tokens") == "–" and page.stats.text("vocab") == "–"
    assert not page.use_btn.isEnabled() and page.use_note.isVisible()


def test_a_run_that_needs_more_tokens_than_the_corpus_has_is_refused(qtbot, window, tmp_path):
    page = window.corpus_page
    page.set_sources([names_file(tmp_path, n=40)])
    qtbot.mouseClick(page.prepare_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(page.use_btn.isEnabled, timeout=30000)
    qtbot.mouseClick(page.use_btn, Qt.MouseButton.LeftButton)
    window.model_page.form.widget("model", "block_size").setValue(256)
    assert "fewer than Context length [model.block_size] + 1 = 257" in shown_text(window.model_page.problems)
    assert not window.model_page.train_btn.isEnabled()


# 11 ---------------------------------------------------------------------------------------------------
def test_small_things_say_what_they_mean(qtbot, window):
    assert window.train_page.progress.text() == ""  # not "step 0 of 1" before any run
    vocab = window.model_page.form.widget("model", "vocab_size")
    assert vocab.value() == 0 and vocab.text() == "from the tokenizer"
    plot = window.train_page.loss_plot
    plot.set_series("train", [0], [3.0], color="#000")
    (x0, x1), _ = plot.viewRange()  # one point stands clear of both edges, with no SI prefix on the axis
    assert x0 < 0 < x1 and not plot.getAxis("bottom").autoSIPrefix
    plot.set_series("train", [0, 50, 100], [3.0, 2.0, 1.0], color="#000")
    qtbot.waitUntil(lambda: plot.viewRange()[0][1] >= 100, timeout=2000)


def test_a_path_typed_into_the_corpus_field_is_read_on_enter(qtbot, window, tmp_path):
    page = window.corpus_page
    page.path.setText(f"'{names_file(tmp_path)}'")  # pasted from a terminal, quotes and all
    qtbot.keyClick(page.path, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.preview.toPlainText().startswith("1 document."), timeout=20000)
    page.path.setText(str(tmp_path / "nowhere.txt"))
    qtbot.keyClick(page.path, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "corpus not found" in page.progress_label.text(), timeout=20000)
