"""Masked LM, classification and a LoRA fine-tune, each designed, trained and used through the GUI."""

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from engine.demo import make_demo_corpus
from engine.model.checkpoint import list_checkpoints, load_tensors
from engine.run.events import read_events
from engine.run.folder import MODEL_FILE
from tests.studio.conftest import tiny_model
from tests.studio.helpers import (
    RUN_TIMEOUT,
    predict_in_playground,
    press_train,
    train_through_gui,
    use_corpus,
    write_corpus,
)


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_a_masked_lm_with_next_sentence_prediction(qtbot, window, tmp_path):
    use_corpus(qtbot, window, write_corpus(tmp_path))
    page = window.model_page
    page.name.setText("bert")
    form = page.form
    assert not form.is_row_visible("task", "nsp") and not form.is_row_visible("model", "prenorm")
    form.widget("model", "objective").setCurrentText("masked")
    assert form.is_row_visible("task", "nsp") and not form.is_row_visible("task", "label_column")
    assert form.is_row_visible("model", "prenorm")  # an encoder's choice: decoders are always pre-norm
    form.widget("task", "nsp").setChecked(True)
    tiny_model(page)
    run_dir = press_train(qtbot, window)
    train = window.train_page
    qtbot.waitUntil(lambda: train.ppl_plot.point_count("next sentence") == 4, timeout=5000)
    assert train.ppl_plot.point_count("validation accuracy") == 4
    assert "next-sentence" in train.ppl_plot.plotItem.titleLabel.text
    assert "[" in train.samples.toPlainText(), "samples show the filled-in masks"
    out = predict_in_playground(qtbot, window, run_dir, "The [MASK] fox")
    assert window.playground_page.generate_btn.text() == "Fill in [MASK]"
    assert "→" in out and "[MASK] 1:" in out


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_a_classifier_shows_its_confusion_matrix_and_labels_typed_text(qtbot, window, tmp_path):
    use_corpus(qtbot, window, make_demo_corpus("balanced", tmp_path, size_bytes=8000))
    page = window.model_page
    page.name.setText("brackets")
    page.form.widget("model", "objective").setCurrentText("classify")
    assert page.form.is_row_visible("task", "label_column")
    tiny_model(page, batch_size=16)
    run_dir = press_train(qtbot, window)
    train = window.train_page
    assert train.tabs.isTabVisible(2)
    qtbot.waitUntil(lambda: train.confusion.table.rowCount() == 2, timeout=5000)
    last = [e for e in read_events(run_dir / "events.jsonl") if e.type == "eval"][-1]
    assert train.confusion.cell(0, 0) == str(last["val_confusion"][0][0])
    assert train.ppl_plot.point_count("macro-F1") == 4
    assert "predicted" in train.samples.toPlainText()
    out = predict_in_playground(qtbot, window, run_dir, "([{}])")
    assert "balanced" in out and "unbalanced" in out and "%" in out
    assert window.playground_page.left.state.text().startswith("Most likely: ")


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_a_lora_fine_tune_of_a_finished_run(qtbot, window, tmp_path, monkeypatch):
    base = train_through_gui(qtbot, window, tmp_path, name="base")
    qtbot.waitUntil(lambda: window.train_page.status.text() == "Finished", timeout=RUN_TIMEOUT)
    window.nav.setCurrentRow(3)
    runs = window.runs_page
    runs.select([base])
    assert runs.buttons["finetune"].isEnabled()
    qtbot.mouseClick(runs.buttons["finetune"], Qt.MouseButton.LeftButton)
    page = window.model_page
    assert window.stack.currentWidget() is page
    assert page.form.widget("finetune", "source").currentText() == str(base)
    assert not page.form.widget("model", "n_layer").isEnabled(), "the source fixes the architecture"
    assert "base" in page.source_note.text()
    page.form.widget("finetune", "method").setCurrentText("lora")
    assert page.form.is_row_visible("finetune", "lora_rank")
    page.form.widget("finetune", "lora_rank").setValue(2)
    assert "LoRA adapters" in page.card.text("trainable")
    for key, value in dict(max_steps=20, eval_interval=10, eval_batches=2, warmup_steps=2, threads=1).items():
        page.form.widget("train", key).setValue(value)
    run_dir = press_train(qtbot, window)
    assert run_dir.name.startswith("base-finetune")
    stored = load_tensors(list_checkpoints(run_dir)[-1].path / MODEL_FILE)
    assert all("lora_" in name for name in stored)
    started = [e for e in read_events(run_dir / "events.jsonl") if e.type == "started"][-1]
    assert started["trainable_params"] < started["n_params"]
    assert json.loads((run_dir / "base" / "meta.json").read_text())["model"]["n_layer"] == 1
    window.nav.setCurrentRow(3)
    runs.reload()
    row = next(r for r in range(runs.table.rowCount()) if runs.table.item(r, 0).text() == "base-finetune")
    assert f"LoRA of {base.name}" in runs.table.item(row, 2).text()
    out = predict_in_playground(qtbot, window, run_dir, "The quick")
    assert out.startswith("The quick") and len(out) > len("The quick")
    said = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: said.append(("ok", text)))
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: said.append(("bad", text)))
    runs.export_to(run_dir, tmp_path / "hf")
    qtbot.waitUntil(lambda: len(said) == 1, timeout=30000)
    assert said[0][0] == "ok" and "GPT-2" in said[0][1], said
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["model_type"] == "gpt2" and (tmp_path / "hf" / "model.safetensors").is_file()
    runs.export_to(run_dir, tmp_path / "hf")  # the folder is taken now: said in words, nothing overwritten
    qtbot.waitUntil(lambda: len(said) == 2, timeout=30000)
    assert said[1][0] == "bad" and "not empty" in said[1][1]
    runs.export_to(run_dir, tmp_path / "base-finetune.gguf")  # the merged model for llama.cpp
    qtbot.waitUntil(lambda: len(said) == 3, timeout=30000)
    assert said[2][0] == "ok" and "a GGUF file for llama.cpp (gpt2, F16)" in said[2][1], said
    assert (tmp_path / "base-finetune.gguf").stat().st_size > 1000
