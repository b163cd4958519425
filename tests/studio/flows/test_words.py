"""The words a user reads, through the window as a user drives it: problems name the form's labels (the key in
brackets for the TOML), a first start says what to do in three steps, nothing replaces edited fields without
asking, and Export offers the GGUF type, names the file after it and writes files anyone may read."""

import csv
import os
import re
import stat

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from studio.model.form_words import FORM_LABELS, in_form_words
from studio.state import design as design_module  # the memory verdict is decided there
from studio.widgets.export_dialog import ExportDialog
from tests.conftest import PANGRAMS
from tests.studio.conftest import answer, tiny_model
from tests.studio.helpers import help_action

RUN_TIMEOUT = 300_000  # a hang guard, not a speed test
SECTIONS = "model|train|data|tokenizer|task|finetune|track"


def bare_keys(text: str) -> list[str]:
    """Config keys a text names outside the brackets that follow a label."""
    return re.findall(rf"(?<![\w.\[])(?:{SECTIONS})\.[a-z_]+(?!\w|\])", text)


def write_corpus(folder, name="corpus.txt"):
    path = folder / name
    path.write_text("\n\n".join(PANGRAMS * 30) + "\n")
    return path


# ----- problems in the form's words ----------------------------------------------------------------
def test_every_field_the_form_shows_is_named_by_its_label_with_the_key_in_brackets(qtbot, window):
    form = window.model_page.form
    assert len(FORM_LABELS) == len(form.widgets)
    for (section, key), widget in form.widgets.items():
        full = f"{section}.{key}"
        shown = form.forms[(section, key)].labelForField(widget).text()
        assert FORM_LABELS[full] == shown, full
        said = in_form_words(f"Lower {full}, or set {full} = 2.")
        name = re.sub(r"\s*\([^)]*\)$", "", shown)  # "Width (n_embd)" is "Width" in a sentence
        assert said == f"Lower {name} [{full}], or set {name} [{full}] = 2.", said
        assert in_form_words(said) == said, "rewriting twice changes nothing"
    assert in_form_words("try n_head = 4 or n_embd = 96") == "try Heads [model.n_head] = 4 or Width [model.n_embd] = 96"
    assert in_form_words("see tokenizer.json in /runs/model.n_layer") == "see tokenizer.json in /runs/model.n_layer"


def test_the_model_page_lists_problems_by_the_forms_labels(qtbot, window, tmp_path, monkeypatch):
    page = window.model_page
    f = page.form
    f.widget("data", "path").setText(str(write_corpus(tmp_path)))
    f.widget("model", "n_embd").setValue(16)
    f.widget("model", "n_head").setValue(3)
    qtbot.keyClicks(f.widget("train", "lr"), "x")
    text = page.problems.text()
    assert "Heads [model.n_head] (3) must divide Width [model.n_embd] (16)" in text, text
    assert "Learning rate [train.lr] must be a number" in text and not bare_keys(text), text
    f.widget("model", "n_head").setValue(4)
    f.widget("train", "lr").setText("3e-4")
    assert page.problems.text() == "" and page.train_btn.isEnabled()

    monkeypatch.setattr(design_module, "available_ram", lambda: 512 * 2**20)  # a machine of 512 MiB free
    f.widget("train", "device").setCurrentText("cpu")
    f.widget("model", "n_embd").setValue(512)
    f.widget("model", "block_size").setValue(1024)
    f.widget("train", "batch_size").setValue(256)
    text = page.problems.text()
    assert "Batch size [train.batch_size] = " in text and "Gradient accumulation [train.grad_accum] = " in text, text
    assert not bare_keys(text) and not page.train_btn.isEnabled()


def test_a_run_the_trainer_refuses_is_explained_by_the_forms_labels(qtbot, window, tmp_path):
    page = window.model_page
    page.name.setText("too-long")
    tiny_model(page, max_steps=5)
    page.form.widget("data", "path").setText(str(write_corpus(tmp_path)))
    page.form.widget("model", "block_size").setValue(100_000)  # longer than the validation split holds
    page.form.widget("train", "batch_size").setValue(1)
    assert page.train_btn.isEnabled(), page.problems.text()  # the corpus was not prepared: its size is unknown
    qtbot.mouseClick(page.train_btn, Qt.MouseButton.LeftButton)
    train = window.train_page
    qtbot.waitUntil(lambda: train.status.text() == "Failed", timeout=RUN_TIMEOUT)
    qtbot.waitUntil(lambda: "Context length [model.block_size]" in train.message.text(), timeout=RUN_TIMEOUT)
    assert not bare_keys(train.message.text()), train.message.text()


def test_the_corpus_page_names_its_own_labels(qtbot, window, tmp_path):
    folder = tmp_path / "tables"
    folder.mkdir()
    with open(folder / "reviews.csv", "w", newline="") as f:  # a table whose text is not in a "text" column
        csv.writer(f).writerows([("body", "label"), *((p, "x") for p in PANGRAMS)])
    page = window.corpus_page
    page.set_sources([folder])
    qtbot.mouseClick(page.prepare_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Text column [data.text_column]" in page.progress_label.text(), timeout=60_000)
    assert not bare_keys(page.progress_label.text()), page.progress_label.text()


# ----- a first start ------------------------------------------------------------------------------
def test_a_first_start_says_what_to_do_in_three_steps(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from studio.main_window import MainWindow
    from studio.settings import Settings

    settings = Settings(QSettings(str(tmp_path / "fresh.ini"), QSettings.Format.IniFormat))
    settings.workspace = tmp_path / "ws"
    settings.auto_measure = False
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    assert settings.first_start and not window.restored
    window.offer_demo()  # what the studio does on a first start
    page = window.model_page
    assert window.stack.currentWidget() is page and page.name.text() == "demo"
    guide = page.first_steps
    assert guide.isVisible()
    words = re.sub(r"<[^>]+>", "", guide.text())
    assert "demo" in words and "Python standard library" in words, words  # what "demo" is
    for step in ("1. Pick your text on the Corpus page", "2. Choose a size on the Model page", "3. Press Train"):
        assert step in words, words
    title = re.sub(r"<[^>]+>", "", window.train_page.title.text())
    assert "1. Pick your text" in title and "3. Press Train" in title, title
    page.name.setText("mine")
    assert "Your first model, in three steps" in guide.text()


# ----- nothing replaces the user's edits without asking --------------------------------------------
def test_open_the_demo_asks_before_replacing_edits_and_not_otherwise(qtbot, window, tmp_path):
    page = window.model_page
    demo_action = help_action(window, "demo")
    asked = answer("Cancel")
    demo_action.trigger()  # an unchanged form: the demo replaces it at once
    asked.stop()
    assert asked == [] and page.name.text() == "demo"

    page.form.widget("model", "n_layer").setValue(9)
    page.name.setText("mine")
    asked = answer("Cancel")
    demo_action.trigger()
    assert asked and "Run name" in asked[0] and "Layers" in asked[0], asked
    assert page.name.text() == "mine" and page.form.widget("model", "n_layer").value() == 9

    asked = answer("Replace")
    demo_action.trigger()
    assert asked and page.name.text() == "demo" and page.form.widget("model", "n_layer").value() == 3

    page.form.widget("model", "n_layer").setValue(5)  # saved: nothing is lost, nothing asked
    page.save_to(tmp_path / "five.toml")
    asked = answer("Cancel")
    demo_action.trigger()
    asked.stop()
    assert asked == [] and page.form.widget("model", "n_layer").value() == 3


def test_loading_a_config_and_presets_ask_before_replacing_edits(qtbot, window, tmp_path):
    page = window.model_page
    page.name.setText("saved")
    page.save_to(tmp_path / "saved.toml")
    page.form.widget("model", "n_layer").setValue(11)
    asked = answer("Cancel")
    assert not page.load_from(tmp_path / "saved.toml")
    assert asked and "Loading saved.toml" in asked[0] and page.form.widget("model", "n_layer").value() == 11

    asked = answer("Cancel")  # a size preset that would change the edited depth asks too
    page.presets.activated.emit(page.presets.findText("small (CPU, an hour)"))
    assert asked and "Layers" in asked[0] and page.form.widget("model", "n_layer").value() == 11
    asked = answer("Replace")
    page.presets.activated.emit(page.presets.findText("small (CPU, an hour)"))
    assert asked and page.form.widget("model", "n_layer").value() == 6
    asked = answer("Cancel")  # what the preset set is not the user's: another preset replaces it unasked
    page.presets.activated.emit(page.presets.findText("tiny (CPU, minutes)"))
    asked.stop()
    assert asked == [] and page.form.widget("model", "n_layer").value() == 2


def test_the_studio_remembers_unsaved_edits_across_a_restart(qtbot, window, settings):
    from studio.main_window import MainWindow

    window.model_page.form.widget("model", "n_head").setValue(8)
    window.save_session()
    again = MainWindow(settings)
    qtbot.addWidget(again)
    assert again.restored and again.model_page.kept.edited() == ["model.n_head"]


def test_duplicate_and_fine_tune_from_the_runs_page_ask_before_replacing_edits(qtbot, window_on):
    window, page = window_on, window_on.model_page
    page.name.setText("my-design")
    page.form.widget("model", "n_layer").setValue(7)
    window.nav.setCurrentRow(3)
    runs = window.runs_page
    run_dir = next(iter(window.store.runs))
    runs.select([run_dir])
    for button in ("duplicate", "finetune"):
        asked = answer("Cancel")
        qtbot.mouseClick(runs.buttons[button], Qt.MouseButton.LeftButton)
        assert asked and "Run name" in asked[0] and "Layers" in asked[0], (button, asked)
        assert page.name.text() == "my-design" and page.form.widget("model", "n_layer").value() == 7
        assert window.stack.currentWidget() is runs
    asked = answer("Replace")
    qtbot.mouseClick(runs.buttons["duplicate"], Qt.MouseButton.LeftButton)
    assert asked and page.name.text() == f"{run_dir.name}-copy" and window.stack.currentWidget() is page
    assert page.form.widget("model", "n_layer").value() == 2 and page.kept.edited() == []


# ----- Export: the GGUF type, the name that follows it, files anyone may read ----------------------
def test_export_offers_the_gguf_type_and_names_the_file_after_it(qtbot, window_on, trained_run, tmp_path,
                                                                 monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    gguf = pytest.importorskip("gguf")
    window = window_on
    assert window.model_page.first_steps.isHidden(), "a workspace with runs needs no first steps"
    said = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: said.append(("ok", text)))
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: said.append(("bad", text)))
    window.nav.setCurrentRow(3)
    runs = window.runs_page
    run_dir = next(iter(window.store.runs))
    runs.select([run_dir])
    out = tmp_path / f"{run_dir.name}-q8_0.gguf"
    seen = {}

    def drive():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, ExportDialog):
            QTimer.singleShot(20, drive)
            return
        seen["hf"] = dialog.path.text()
        dialog.format.setCurrentIndex(dialog.format.findData("gguf"))
        seen["types"] = [dialog.gguf_type.itemData(i) for i in range(dialog.gguf_type.count())]
        seen["gguf"] = dialog.path.text()
        dialog.gguf_type.setCurrentIndex(dialog.gguf_type.findData("q8_0"))
        seen["q8_0"] = dialog.path.text()
        dialog.path.setText(str(tmp_path / f"{run_dir.name}-f16.gguf"))  # the user's own folder
        dialog.gguf_type.setCurrentIndex(dialog.gguf_type.findData("f32"))
        seen["own"] = dialog.path.text()
        dialog.gguf_type.setCurrentIndex(dialog.gguf_type.findData("q8_0"))
        qtbot.mouseClick(dialog.export_btn, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, drive)
    qtbot.mouseClick(runs.buttons["export"], Qt.MouseButton.LeftButton)
    assert seen["hf"] == str(run_dir.parent / f"{run_dir.name}-hf")
    assert sorted(seen["types"]) == ["f16", "f32", "q8_0"]
    assert seen["gguf"] == str(run_dir.parent / f"{run_dir.name}-f16.gguf")
    assert seen["q8_0"] == str(run_dir.parent / f"{run_dir.name}-q8_0.gguf")
    assert seen["own"] == str(tmp_path / f"{run_dir.name}-f32.gguf")
    qtbot.waitUntil(lambda: len(said) == 1, timeout=RUN_TIMEOUT)
    assert said[0][0] == "ok" and "Q8_0" in said[0][1], said
    assert not (run_dir.parent / f"{run_dir.name}-q8_0.gguf").exists()
    reader = gguf.GGUFReader(out)
    types = {t.tensor_type.name for t in reader.tensors}
    assert "Q8_0" in types, types
    mask = os.umask(0o022)
    os.umask(mask)
    assert oct(stat.S_IMODE(out.stat().st_mode)) == oct(0o666 & ~mask)  # as any new file: 0644 under umask 022
