"""Each page driven as a user would: typing, clicking, dropping files; assertions on what is shown."""

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from engine.config import schema as C
from engine.model.build import gpt_config
from engine.model.gpt import GPT
from tests.conftest import PANGRAMS
from tests.studio.conftest import answer
from tests.studio.helpers import write_corpus


def test_corpus_page_previews_measures_and_tokenizes(qtbot, window, tmp_path):
    page = window.corpus_page
    page.set_sources([write_corpus(tmp_path)])
    qtbot.waitUntil(lambda: "150 documents" in page.preview.toPlainText(), timeout=20000)
    assert "The quick brown fox" in page.preview.toPlainText()
    qtbot.mouseClick(page.prepare_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.use_btn.isEnabled(), timeout=30000)
    text = (tmp_path / "corpus.txt").read_text()
    assert page.stats.text("characters") == f"{len(text):,}"
    assert page.stats.text("vocab") == f"{len(set(text)) + 1}"
    assert page.vocab_list.count() == len(set(text)) + 1
    page.sentence.setText("fox dog")
    assert page.tokens_view.text().startswith("7 tokens")


def test_corpus_page_explains_a_binary_file(qtbot, window, tmp_path):
    bad = tmp_path / "data.txt"
    bad.write_bytes(b"\x00\x01binary" * 200)
    page = window.corpus_page
    page.set_sources([bad])
    qtbot.mouseClick(page.prepare_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "looks binary" in page.progress_label.text(), timeout=20000)
    assert page.prepare_btn.isEnabled() and not page.use_btn.isEnabled()


def test_dropping_files_makes_a_corpus_folder_and_offers_columns(qtbot, window, tmp_path):
    page = window.corpus_page
    a, b = write_corpus(tmp_path, "a.txt"), write_corpus(tmp_path, "b.md")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(a)), QUrl.fromLocalFile(str(b))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    page.dropEvent(event)
    folder = Path(page.path.text())
    assert folder.parent == window.store.corpora_dir and sorted(p.name for p in folder.iterdir()) == ["a.txt", "b.md"]
    csv = tmp_path / "table.csv"
    csv.write_text("id,body,label\n1,hello there,0\n2,general kenobi,1\n")
    page.set_sources([csv])
    assert [page.column.itemText(i) for i in range(page.column.count())] == ["id", "body", "label"]


def test_model_page_explains_impossible_settings_and_estimates(qtbot, window, tmp_path):
    page = window.model_page
    f = page.form
    assert "Path [data.path] is empty: name a corpus file or folder" in page.problems.text()
    f.widget("data", "path").setText("/some/corpus.txt")
    assert "corpus not found: /some/corpus.txt" in page.problems.text() and not page.train_btn.isEnabled()
    (tmp_path / "corpus.txt").write_text("some text\n")
    f.widget("data", "path").setText(str(tmp_path / "corpus.txt"))
    f.widget("model", "n_embd").setValue(16)
    f.widget("model", "n_head").setValue(3)
    assert "must divide Width [model.n_embd]" in page.problems.text()
    assert not page.train_btn.isEnabled()
    f.widget("model", "n_head").setValue(4)
    qtbot.keyClicks(f.widget("train", "lr"), "x")
    assert "Learning rate [train.lr] must be a number" in page.problems.text()
    f.widget("train", "lr").setText("3e-4")
    assert page.problems.text() == "" and page.train_btn.isEnabled()
    cfg, _ = page.current_config()
    cfg.model.vocab_size = 0
    model = GPT(gpt_config(cfg.model, 100))
    assert page.card.text("params").startswith(f"≈ {sum(p.numel() for p in model.parameters()) / 1e3:.2f}k")


def test_model_page_saves_and_loads_the_engines_toml(qtbot, window, tmp_path):
    page = window.model_page
    page.name.setText("round-trip")
    page.form.widget("model", "n_layer").setValue(7)
    page.form.widget("model", "position").setCurrentText("rope")
    page.form.widget("train", "sample_prompts").setText("ROMEO: | JULIET:")
    page.save_to(tmp_path / "x.toml")
    cfg = C.load(tmp_path / "x.toml")
    assert (cfg.name, cfg.model.n_layer, cfg.model.position) == ("round-trip", 7, "rope")
    assert cfg.train.sample_prompts == ["ROMEO:", "JULIET:"]
    page.form.widget("model", "n_layer").setValue(2)
    asked = answer("Replace")  # an edit made after saving is not lost without asking
    assert page.load_from(tmp_path / "x.toml") and "Layers" in asked[0]
    assert page.form.widget("model", "n_layer").value() == 7
    (tmp_path / "bad.toml").write_text("[model]\nn_layer = 'x'\n")
    from PySide6.QtWidgets import QMessageBox

    shown = []
    QMessageBox.warning = lambda *a: shown.append(a[2])
    assert not page.load_from(tmp_path / "bad.toml")
    assert "Layers [model.n_layer] must be a whole number" in shown[0]


def test_presets_fill_the_form(qtbot, window):
    page = window.model_page
    index = page.presets.findText("recipe: baby-shakespeare")
    page.presets.activated.emit(index)
    assert page.form.widget("model", "n_embd").value() == 128
    assert page.form.widget("model", "position").currentText() == "rope"
    page.presets.activated.emit(page.presets.findText("small (CPU, an hour)"))
    assert page.form.widget("model", "n_layer").value() == 6


def test_a_workstation_with_several_gpus_offers_them_all(qtbot, settings, monkeypatch):
    from studio.model import page as model_page
    from studio.model.hardware import Device
    from studio.store import Store

    fake = [Device("cpu", "CPU (8 cores)", 8e11), Device("cuda:0", "NVIDIA H100", 989e12),
            Device("cuda:1", "NVIDIA H100", 989e12)]
    monkeypatch.setattr(model_page, "find_devices", lambda: fake)
    page = model_page.ModelPage(Store(settings.workspace))
    qtbot.addWidget(page)
    device = page.form.widget("train", "device")
    assert [device.itemText(i) for i in range(device.count())] == ["auto", "cpu", "cuda:0", "cuda:1", "cuda:0,1"]
    page.form.widget("data", "path").setText(str(Path(__file__)))
    device.setCurrentText("cuda:0,1")
    assert page.card.text("device") == "NVIDIA H100 × 2 processes"
    one = page.card.text("tokens")
    device.setCurrentText("cuda:0")
    assert page.card.text("tokens") != one, "two processes see twice the tokens per step"


def test_a_hugging_face_folder_as_the_start_of_a_fine_tune(qtbot, window, tmp_path):
    from engine.data.tokenizer import train_tokenizer
    from engine.interop.hf import export_model
    from engine.model.build import build_model
    from engine.model.gpt import GPTConfig

    tok = train_tokenizer("wordpiece", lambda: PANGRAMS * 10, vocab_size=300)
    bert = build_model(GPTConfig(vocab_size=tok.vocab_size, block_size=32, n_layer=2, n_head=2, n_embd=32,
                                 arch="bert"))
    folder = export_model(bert, tok, tmp_path / "my-bert")
    page = window.model_page
    page.form.widget("data", "path").setText(str(write_corpus(tmp_path)))
    page.form.widget("model", "objective").setCurrentText("masked")
    page.set_source(str(folder))
    assert "Hugging Face BERT my-bert (2 layers × 32 wide)" in page.source_note.text()
    assert page.form.widget("model", "n_embd").value() == 32 and not page.form.widget("model", "n_embd").isEnabled()
    assert page.train_btn.isEnabled(), page.problems.text()
    page.form.widget("model", "objective").setCurrentText("causal")
    assert "a causal run fine-tunes a GPT decoder" in page.problems.text() and not page.train_btn.isEnabled()
    page.set_source("")
    assert page.form.widget("model", "n_embd").isEnabled() and not page.source_note.text()


def test_each_optimizer_in_the_form_says_when_it_helps(qtbot, window):
    from PySide6.QtCore import Qt

    combo = window.model_page.form.widget("train", "optimizer")
    items = [combo.itemText(i) for i in range(combo.count())]
    assert items == ["adamw", "adam", "sgd", "adagrad", "lamb", "adafactor", "muon"]
    assert "trust ratio" in combo.itemData(items.index("lamb"), Qt.ItemDataRole.ToolTipRole)
    assert "AdamW for the rest" in combo.itemData(items.index("muon"), Qt.ItemDataRole.ToolTipRole)
    combo.setCurrentText("adafactor")
    assert combo.toolTip().startswith("adafactor: factored second moments")
    assert window.model_page.current_config()[0].train.optimizer == "adafactor"
