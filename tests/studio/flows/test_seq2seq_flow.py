"""A seq2seq run designed, trained, inspected (cross-attention) and used through the GUI alone."""

import pytest
from PySide6.QtCore import Qt

from engine.demo import make_demo_corpus
from studio.runs.page import COLUMNS
from tests.studio.conftest import tiny_model
from tests.studio.helpers import press_train, use_corpus


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_a_translation_run_through_the_gui(qtbot, window, tmp_path):
    corpus = make_demo_corpus("translate", tmp_path, size_bytes=40_000)
    use_corpus(qtbot, window, corpus)
    pairs = window.corpus_page.pairs_view
    assert not pairs.isHidden() and "→" in pairs.text() and "### Response:" in pairs.text()
    assert "background:#bbf7d0" in pairs.text()  # the response, what instruct trains on, is marked
    page = window.model_page
    form = page.form
    assert form.widget("model", "objective").currentText() == "seq2seq"  # a table of pairs: the encoder-decoder
    assert form.is_row_visible("model", "n_encoder_layer") and form.is_row_visible("data", "target_column")
    assert not form.is_row_visible("model", "position") and not form.is_row_visible("task", "label_column")
    page.name.setText("translate-gui")
    tiny_model(page, max_steps=20)
    form.widget("model", "block_size").setValue(48)
    form.widget("model", "n_encoder_layer").setValue(2)
    form.widget("data", "test_fraction").setValue(0.1)
    form.widget("task", "metric_samples").setValue(8)
    run_dir = press_train(qtbot, window)

    train = window.train_page
    assert "Generated targets" in train.ppl_plot.plotItem.titleLabel.text
    qtbot.waitUntil(lambda: train.ppl_plot.point_count("exact match") == 3, timeout=5000)
    assert train.ppl_plot.point_count("BLEU") == 3
    assert "(reference: " in train.samples.toPlainText()
    assert "test: " in train.eta.text()
    runs = window.runs_page
    row = next(r for r in range(runs.table.rowCount()) if runs.table.item(r, 0).text() == "translate-gui")
    qtbot.waitUntil(lambda: "EM " in runs.table.item(row, COLUMNS.index("Test")).text(), timeout=5000)

    window.nav.setCurrentRow(4)
    inspect = window.inspect_page
    inspect.picker.choose(run_dir)
    assert not inspect.tabs.isTabEnabled(inspect.tabs.indexOf(inspect.lens_panel))  # a single stack's probe
    inspect.text.setPlainText("the small dog sees a red ball")
    qtbot.mouseClick(inspect.show_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: inspect.stacks is not None and inspect.show_btn.isEnabled(), timeout=30000)
    assert not inspect.stack.isHidden() and inspect.stack.currentData() == "cross"
    L, H, T, S = inspect.stacks["cross"].shape
    assert (L, H) == (1, 2) and S == len(inspect.pair["source"]) and T == len(inspect.pair["target"]) + 1
    assert inspect.view.keys == inspect.pair["source"] and inspect.view.tokens[-1] == "<eos>"
    inspect.stack.setCurrentIndex(inspect.stack.findData("encoder"))
    assert inspect.maps.shape[2:] == (S, S) and inspect.view.keys == inspect.view.tokens
    inspect.steps.setValue(0)  # over training: the first validation pair, recorded at every evaluation
    assert inspect.stacks is not None and inspect.recorded == [0, 10, 20]
    assert "recorded during training at step 0" in inspect.status.text()

    window.nav.setCurrentRow(5)
    play = window.playground_page
    play.left.picker.choose(run_dir)
    assert "Source" in play.prompt_label.text() and play.generate_btn.text() == "Write the target"
    assert play.temperature.value() == 0.0 and play.settings.isEnabled()
    play.prompt.setPlainText("the small dog sees a red ball")
    qtbot.mouseClick(play.generate_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not play.left.busy and play.generate_btn.isEnabled(), timeout=30000)
    assert "color:#b91c1c" not in play.left.state.text(), play.left.state.text()
    shown = play.left.output.toPlainText()
    assert shown.startswith("the small dog sees a red ball\n→ ") and play.left.output.tokens


def test_bad_pairs_are_refused_on_the_form(qtbot, window, tmp_path):
    import html
    import json

    path = tmp_path / "pairs.jsonl"
    rows = [{"source": "a b", "target": "c d"}] * 20 + [{"source": "x", "target": " "},
                                                        {"source": "y", "target": "z" * 80}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    page = window.model_page
    cfg, _ = page.current_config()
    cfg.data.path = str(path)
    cfg.model.objective = "seq2seq"
    page.set_config(cfg)
    text = html.unescape(page.problems.text())
    assert "1 row(s) have an empty 'target' (row 21)" in text and not page.train_btn.isEnabled()
    assert "the target of row 22 is 80 characters but at most 63 fit (Target length [model.target_block_size])" in text
    page.form.widget("data", "target_column").setText("answer")
    assert "has no column 'answer'" in html.unescape(page.problems.text())
