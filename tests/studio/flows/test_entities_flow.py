"""Named entities through the GUI: a generated tagged corpus prepared on the Corpus page (said to be one, with the
engine's report), the tag objective chosen on the Model page, a tiny tagger trained, its entity F1 per type and tag
confusion matrix on the Train page, and the entities of a typed sentence marked in the Playground as the inference
worker found them; the demo opened from the Help menu."""

import html
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor

from engine.demo import make_demo_corpus
from engine.run.events import read_events
from studio.inference import prediction_job, started
from studio.state.entities import OVERALL
from studio.widgets.entity_marks import entities_line, type_color
from tests.studio.conftest import tiny_model
from tests.studio.helpers import marked_chars, opened_help_demo, predict_in_playground, press_train

TYPES = ["DATE", "LOC", "ORG", "PER"]
SENTENCE = "Ada Lovelace flew to Paris on May 3 ."


def prepare_tagged(qtbot, window, path: Path) -> None:
    page = window.corpus_page
    page.set_sources([path])
    qtbot.waitUntil(lambda: not page.tagged_view.isHidden(), timeout=30000)
    assert "Tagged sentences (named entities)" in page.tagged_view.text()
    assert "entity types: DATE, LOC, ORG, PER" in page.tagged_view.text()
    assert page.preview.toPlainText().split(".")[0].endswith("tagged sentences")
    page.kind.setCurrentText("wordpiece")
    page.vocab_size.setValue(300)
    qtbot.mouseClick(page.prepare_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(page.use_btn.isEnabled, timeout=30000)
    assert "tagged sentences" in page.progress_label.text() and "vocabulary of" in page.progress_label.text()
    assert "entities DATE " in page.tagged_view.text()  # the engine's report, once prepared
    assert page.stats.values["documents"].text().endswith(" sentences")
    qtbot.mouseClick(page.use_btn, Qt.MouseButton.LeftButton)


@pytest.mark.slow  # a few seconds of training; ./dev test --quick leaves it out
def test_a_tagger_designed_trained_and_tried_through_the_gui(qtbot, window, tmp_path):
    prepare_tagged(qtbot, window, make_demo_corpus("entities", tmp_path, size_bytes=30_000))
    page = window.model_page
    form = page.form
    assert form.widget("model", "objective").currentText() == "tag", "tagged sentences choose the tagger"
    assert form.is_row_visible("task", "labels") and not form.is_row_visible("task", "label_column")
    page.name.setText("tagger")
    tiny_model(page, batch_size=16, max_steps=200, eval_interval=100, warmup_steps=10)
    form.widget("model", "block_size").setValue(32)
    form.widget("train", "lr").setText("4e-3")
    run_dir = press_train(qtbot, window)

    train = window.train_page
    assert train.tabs.isTabVisible(2) and train.tabs.isTabVisible(3)  # the tag confusion, the entity scores
    last = [e for e in read_events(run_dir / "events.jsonl") if e.type == "eval"][-1]
    panel = train.entities
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1 + len(TYPES), timeout=5000)
    assert f"Entity F1 {last['val_entity_f1']:.1%}" in panel.headline.text() and "step 200" in panel.headline.text()
    evals = [e for e in read_events(run_dir / "events.jsonl") if e.type == "eval"]
    qtbot.waitUntil(lambda: train.ppl_plot.point_count("entity F1") == len(evals), timeout=5000)  # a curve too
    rows = panel.row_texts()
    assert [r[0] for r in rows] == [OVERALL, *TYPES]
    for row, kind in zip(rows[1:], TYPES):
        scores = last["val_entity_types"][kind]
        assert row[1:] == [f"{scores['precision']:.1%}", f"{scores['recall']:.1%}", f"{scores['f1']:.1%}",
                           f"{scores['support']:,}"]
    labels = last["labels"]
    assert train.confusion.table.rowCount() == len(labels) == 9
    assert train.confusion.table.verticalHeaderItem(1).text() == labels[1] == "B-DATE"
    assert train.confusion.cell(0, 0) == f"{last['val_confusion'][0][0]:,}"

    play = window.playground_page
    predict_in_playground(qtbot, window, run_dir, SENTENCE)
    assert play.generate_btn.text() == "Find entities"
    column = play.left
    replies = []
    started(prediction_job(run_dir, column.picker.checkpoint(), SENTENCE), column, replies.append, replies.append)
    qtbot.waitUntil(lambda: bool(replies), timeout=30000)
    found = replies[0]["entities"]  # what the worker says, asked again
    assert found, "the trained tagger finds entities in a sentence like its corpus's"
    assert column.output.entities == found and column.state.text() == entities_line(found)
    for e in found:
        assert SENTENCE[e["start"]:e["end"]] == e["text"] and e["kind"] in TYPES and 0 < e["score"] <= 1
    marked = column.output.document().firstBlock().text()
    for e, (a, b) in zip(found, column.output.entity_spans):
        assert marked[a:b] == e["text"]
        cursor = QTextCursor(column.output.document())
        cursor.setPosition(a + 1)
        assert cursor.charFormat().background().color().name() == type_color(e["kind"])
    assert marked_chars(column.output).replace("\u00a0", " ") == "".join(f"{e['text']} {e['kind']}" for e in found)
    assert entities_line(found).split(":")[0] in column.state.text()


def test_the_help_menu_opens_the_named_entities_demo(qtbot, window):
    opened_help_demo(window, "named-entities", "tag", "wordpiece", "entities.conll")
    page, corpus = window.model_page, window.corpus_page
    assert "named-entities demo is ready" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: not corpus.tagged_view.isHidden(), timeout=30000)
    qtbot.waitUntil(page.train_btn.isEnabled, timeout=30000)


@pytest.mark.parametrize("name, text, said", [
    ("bad.jsonl", '{"tokens": ["Ada"], "tags": ["B-PER"]}\n{"tokens": ["Ada", "Lovelace"], "tags": ["B-PER"]}\n',
     "bad.jsonl line 2 has 2 tokens but 1 tags: each token needs one tag"),
    ("bilou.conll", "John U-PER\nlives O\nin O\nParis U-LOC\n",
     "bilou.conll line 1: the tag 'U-PER' is IOBES or BILOU; tags must be BIO/IOB2"),
])
def test_a_bad_tagged_file_is_refused_on_the_corpus_page_in_one_sentence(qtbot, window, tmp_path, name, text, said):
    path = tmp_path / name
    path.write_text(text)
    page = window.corpus_page
    page.set_sources([path])
    qtbot.waitUntil(lambda: "line " in page.progress_label.text(), timeout=30000)
    assert said in html.unescape(page.progress_label.text())
    assert "Traceback" not in page.progress_label.text()
    assert page.tagged_view.isHidden() and not page.use_btn.isEnabled()


def test_hovering_an_entity_shows_its_type_and_score(qtbot):
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QToolTip

    from studio.playground.output import TokenOutput

    out = TokenOutput()
    qtbot.addWidget(out)
    out.resize(600, 200)
    out.show()
    out.start("Ada met Bo in Oslo")
    out.show_prediction({"kind": "tag", "entities": [
        {"kind": "PER", "text": "Ada", "start": 0, "end": 3, "score": 0.9},
        {"kind": "LOC", "text": "Oslo", "start": 14, "end": 18, "score": 0.812}]})
    a, b = out.entity_spans[1]
    cursor = QTextCursor(out.document())
    cursor.setPosition(a + 1)
    middle = out.cursorRect(cursor).center()
    qtbot.mouseMove(out.viewport(), QPoint(middle.x() + 2, middle.y()))
    qtbot.waitUntil(lambda: "LOC" in QToolTip.text(), timeout=5000)
    assert "81.2%" in QToolTip.text() and "Oslo" in QToolTip.text()
