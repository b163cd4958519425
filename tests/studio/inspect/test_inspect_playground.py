"""The Inspect and Playground pages on a real trained run: what they show equals the engine's own answer."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.infer.generate import SamplingOptions, generate_text
from engine.model.load import load_for_inference
from engine.probes.attention import attention_maps
from tests.reliability.helpers import engine


def test_inspect_shows_the_engines_attention_for_any_text(qtbot, window_on, trained_run):
    page = window_on.inspect_page
    assert page.picker.runs.count() == 1 and page.picker.checkpoints.count() == 3
    page.picker.checkpoints.setCurrentIndex(page.picker.checkpoints.findData("step-000040"))
    page.text.setPlainText("Sphinx of black quartz")
    qtbot.mouseClick(page.show_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.maps is not None, timeout=30000)
    model, tok, _ = load_for_inference(trained_run / "runs" / "pangrams", "step-000040")
    expected, tokens = attention_maps(model, tok, "Sphinx of black quartz")
    assert page.tokens == tokens and np.allclose(page.maps, expected)
    assert np.allclose(page.grid.image(1, 1), expected[1, 1])
    page.grid.sig_head_clicked.emit(1, 0)
    assert np.allclose(page.view.image.image, expected[1, 0])
    assert page.view.describe(3, 1) == f"query 3 i → key 1 p: weight {expected[1, 0, 3, 1]:.4f}"
    page.mean.setChecked(True)
    assert np.allclose(page.view.image.image, expected[1].mean(axis=0))
    page.query.setCurrentIndex(2)
    assert page.token_view.text().count("<span") == len(tokens)
    page.picker.checkpoints.setCurrentIndex(page.picker.checkpoints.findData("step-000020"))  # another one:
    assert page.status.text() == "These maps are of step-000040: press Show attention for step-000020"  # not stale


def test_attention_over_training_and_exports(qtbot, window_on, trained_run, tmp_path):
    page = window_on.inspect_page
    assert page.recorded == [0, 20, 40, 60]
    page.steps.setValue(0)
    first = page.maps.copy()
    page.steps.setValue(3)
    assert page.maps.shape == first.shape and not np.allclose(page.maps, first)
    assert "step 60" in page.steps_label.text()
    page.export_png(tmp_path / "map.png")
    assert (tmp_path / "map.png").stat().st_size > 1000
    from engine.probes.attention import save_maps

    save_maps(tmp_path / "w.npy", page.maps, page.tokens)
    assert np.allclose(np.load(tmp_path / "w.npy"), page.maps)


def test_playground_streams_what_the_engine_generates(qtbot, window_on, trained_run):
    page = window_on.playground_page
    page.prompt.setPlainText("The quick")
    page.temperature.setValue(0)
    page.max_tokens.setValue(40)
    qtbot.mouseClick(page.generate_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(page.generate_btn.isEnabled, timeout=30000)
    model, tok, _ = load_for_inference(trained_run / "runs" / "pangrams")
    expected = generate_text(model, tok, "The quick", SamplingOptions(max_new_tokens=40, temperature=0))
    assert page.left.output.generated_text() == expected
    assert len(page.left.output.tokens) == 40 and page.left.state.text() == "40 tokens"
    first = page.left.output.tokens[0]
    assert 0 < first["prob"] <= 1 and first["alternatives"][0][0] == first["text"]
    assert "%" in page.left.output.describe(0)


def test_playground_stops_at_once_and_compares_two_checkpoints(qtbot, window_on):
    page = window_on.playground_page
    page.prompt.setPlainText("How vexingly")
    page.max_tokens.setValue(100_000)
    qtbot.mouseClick(page.generate_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(page.left.output.tokens) > 5, timeout=30000)
    qtbot.mouseClick(page.stop_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(page.generate_btn.isEnabled, timeout=10000)
    assert "(stopped)" in page.left.state.text() and len(page.left.output.tokens) < 100_000
    page.compare.setChecked(True)
    page.right.picker.checkpoints.setCurrentIndex(page.right.picker.checkpoints.findData("step-000020"))
    page.max_tokens.setValue(30)
    page.temperature.setValue(0)
    qtbot.mouseClick(page.generate_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(page.generate_btn.isEnabled, timeout=30000)
    assert len(page.left.output.tokens) == len(page.right.output.tokens) == 30
    assert page.left.output.generated_text() != page.right.output.generated_text()


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_the_command_line_gives_the_same_maps_and_text(qtbot, window_on, trained_run, tmp_path):
    run = trained_run / "runs" / "pangrams"
    page = window_on.inspect_page
    page.text.setPlainText("How vexingly quick")
    page.compute()
    qtbot.waitUntil(lambda: page.maps is not None and page.tokens[0] == "H", timeout=30000)
    assert engine("attention", run, "--text", "How vexingly quick", "--out", tmp_path / "m.npy").returncode == 0
    assert np.allclose(np.load(tmp_path / "m.npy"), page.maps, atol=1e-6)
    play = window_on.playground_page
    play.prompt.setPlainText("Pack my")
    play.temperature.setValue(0)
    play.max_tokens.setValue(30)
    play.generate()
    qtbot.waitUntil(play.generate_btn.isEnabled, timeout=30000)
    cli = engine("generate", run, "--prompt", "Pack my", "--temperature", "0", "--max-new-tokens", "30")
    assert cli.stdout == "Pack my" + play.left.output.generated_text() + "\n"


def test_the_pickers_start_at_the_best_checkpoint(qtbot, settings, trained_run, tmp_path):
    import shutil

    from studio.main_window import MainWindow
    from tests.reliability.test_run_commands import make_best

    shutil.copytree(trained_run / "runs", tmp_path / "ws" / "runs")
    make_best(tmp_path / "ws" / "runs" / "pangrams", "step-000020")
    settings.workspace = tmp_path / "ws"
    w = MainWindow(settings)
    qtbot.addWidget(w)
    for picker in (w.inspect_page.picker, w.playground_page.left.picker):
        assert picker.checkpoint() == "step-000020" and picker.checkpoints.count() == 3  # of 60, 40, 20
        assert picker.checkpoints.currentText().endswith("best")


def test_texts_come_from_the_runs_own_corpus_and_unknown_characters_are_named(qtbot, window_on, trained_run):
    from tests.conftest import PANGRAMS

    playground, inspect = window_on.playground_page, window_on.inspect_page
    assert playground.prompt.toPlainText() in PANGRAMS  # a line of its validation text, not "ROMEO:"
    assert not playground.prompt_note.isVisible()
    playground.prompt.setPlainText("größe ✓")
    assert "does not know ö ß ✓" in playground.prompt_note.text() and "<unk>" in playground.prompt_note.text()
    run = window_on.store.runs[inspect.picker.run_dir()]
    assert inspect.text.toPlainText() == run.val_text and run.val_text.strip()
    inspect.picker.reload()  # choosing again keeps what the user typed
    inspect.text.setPlainText("my own words")
    inspect.picker.reload()
    assert inspect.text.toPlainText() == "my own words"


def test_inspect_labels_its_heads_and_keeps_its_captions_current(qtbot, window_on):
    page = window_on.inspect_page
    page.steps.blockSignals(True)  # as when the page opens: nothing computed yet
    page.maps = None
    assert page.placeholder.isVisibleTo(page) and not page.view.isVisibleTo(page)
    page.steps.blockSignals(False)
    page.text.setPlainText("Sphinx of black quartz")
    qtbot.mouseClick(page.show_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.maps is not None and page.show_btn.isEnabled(), timeout=30000)
    assert page.view.isVisibleTo(page) and not page.placeholder.isVisibleTo(page)
    assert "step-000060" in page.status.text()
    assert page.grid.caption_texts() == ["head 0", "head 1", "layer 0", "layer 1"]
    page.grid.sig_head_clicked.emit(1, 1)
    framed = {key for key, (_, img) in page.grid.cells.items() if img.border.style() != Qt.PenStyle.NoPen}
    assert framed == {(1, 1)}
    page.mean.setChecked(True)  # the mean of a layer frames the whole layer
    assert {key for key, (_, img) in page.grid.cells.items() if img.border.style() != Qt.PenStyle.NoPen} == \
        {(1, 0), (1, 1)}
    page.hover.setText("query 3 … stale")
    page.steps.setValue(1)
    assert "step 20" in page.status.text() and "step-000060" not in page.status.text()
    assert page.hover.text() == ""


def test_the_hover_names_the_chosen_token_once(qtbot, window_on):
    from studio.playground.output import TokenOutput

    out = TokenOutput()
    qtbot.addWidget(out)
    out.start("a")
    out.add({"text": "b", "prob": 0.6, "alternatives": [["b", 0.6], ["c", 0.3]]})
    text = out.describe(0)
    assert text.count("&#x27;b&#x27;") == 1 and "&#x27;c&#x27;: 30.0%" in text
