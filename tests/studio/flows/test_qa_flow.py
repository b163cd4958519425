"""Question answering through the GUI: the demo opened from the Help menu (its questions previewed with their answers
marked, the span objective and its window overlap in the form), a tiny run of it trained (its exact match and F1
plotted), then asked a question in the Playground, whose answer (or "no answer": a run this short need not be right)
is marked in the context, in two columns when compared; an empty question said in a sentence. A file of questions in
SQuAD's JSON is recognised, previewed and prepared, and impossible span settings are refused on the form in the
engine's words."""

import html
import json
from collections import defaultdict
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor

from engine.demo import make_demo_corpus
from engine.run.events import read_events
from studio.inference import prediction_job, started
from studio.playground.answer import answer_line
from studio.state.qa_corpus import ANSWER_KIND
from studio.widgets.entity_marks import type_color
from tests.studio.helpers import marked_chars, opened_help_demo, press_train, shown_text, use_corpus

CONTEXT = "Ada Turing was born in Oslo in 1901. Omar Chen moved to Lima in 1950."
QUESTION = "Where did Omar Chen move to?"


def ask(qtbot, play, context: str, question: str) -> None:
    play.prompt.setPlainText(context)
    play.question.setText(question)
    qtbot.mouseClick(play.generate_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not any(c.busy for c in play.columns()) and play.generate_btn.isEnabled(), timeout=60000)


def assert_answer_shown(column, found: dict) -> None:
    """The column shows the worker's answer: marked in the context (or none marked), and said with its score."""
    assert column.state.text() == answer_line(found)
    shown = column.output.toPlainText()
    unmarked = shown.replace(f"\u00a0{ANSWER_KIND}", "").replace(f" {ANSWER_KIND}", "")  # the mark's type label out
    assert unmarked.startswith(CONTEXT) and f"Q: {QUESTION}" in shown and answer_line(found) in shown
    if found["text"]:
        assert CONTEXT[found["start"]:found["end"]] == found["text"]
        assert marked_chars(column.output).replace("\u00a0", " ") == f"{found['text']} {ANSWER_KIND}"
        a, _ = column.output.entity_spans[0]
        cursor = QTextCursor(column.output.document())
        cursor.setPosition(a + 1)
        assert cursor.charFormat().background().color().name() == type_color(ANSWER_KIND)
    else:
        assert marked_chars(column.output) == "" and shown.count("No answer: the context does not answer") == 1


@pytest.mark.slow  # a tiny run of the demo trained for a few seconds, and the inference worker started
def test_the_qa_demo_opens_from_the_help_menu_trains_and_answers_in_the_playground(qtbot, window):
    cfg = opened_help_demo(window, "question-answering demo", "span", "wordpiece", "qa.jsonl")
    page = window.model_page
    assert "question-answering demo is ready" in window.statusBar().currentMessage()
    form = page.form
    assert cfg.model.arch == "bert"
    assert form.is_row_visible("task", "doc_stride") and not form.is_row_visible("task", "label_column")
    corpus = window.corpus_page
    qtbot.waitUntil(lambda: not corpus.qa_view.isHidden(), timeout=30000)
    assert "Questions on contexts (question answering)" in corpus.qa_view.text()
    first = json.loads(Path(cfg.data.path).read_text().splitlines()[0])
    assert f" questions. The first 5:\n\n{first['question']}\n→ " in corpus.preview.toPlainText()
    assert f"background:{type_color(ANSWER_KIND)}" in corpus.qa_view.text()  # the answers marked in their contexts
    qtbot.waitUntil(page.train_btn.isEnabled, timeout=30000)
    tiny = {"model": dict(n_layer=1, n_embd=32, n_head=2),
            "train": dict(max_steps=20, eval_interval=20, warmup_steps=2, batch_size=8, eval_batches=2, threads=1)}
    for section, values in tiny.items():  # the demo's recipe, made tiny: its answers need not be right
        for key, value in values.items():
            form.widget(section, key).setValue(value)
    run_dir = press_train(qtbot, window)
    plot = window.train_page.ppl_plot  # the answers' scores, as SQuAD defines them, at each evaluation
    evals = [e for e in read_events(run_dir / "events.jsonl") if e.type == "eval"]
    assert evals and all(e.get("val_exact_match") is not None and e.get("val_f1") is not None for e in evals)
    qtbot.waitUntil(lambda: plot.point_count("exact match") == len(evals), timeout=5000)
    assert plot.point_count("F1") == len(evals)

    window.nav.setCurrentRow(5)
    play = window.playground_page
    play.left.picker.choose(run_dir)
    assert play.generate_btn.text() == "Find the answer" and play.prompt_label.text() == "<b>Context</b>"
    assert not play.question.isHidden() and not play.settings.isEnabled()
    assert play.question.text().strip() and play.prompt.toPlainText().strip()  # a question of its own corpus
    ask(qtbot, play, CONTEXT, QUESTION)
    column = play.left
    replies = []
    started(prediction_job(run_dir, column.picker.checkpoint(), CONTEXT, QUESTION), column, replies.append,
            replies.append)
    qtbot.waitUntil(lambda: bool(replies), timeout=30000)
    found = replies[0]  # what the worker says, asked again
    assert found["kind"] == "span" and 0 <= found["score"] <= 1, found
    assert_answer_shown(column, found)

    play.compare.setChecked(True)  # a second column asks the same question of another (here: the same) checkpoint
    play.right.picker.choose(run_dir)
    ask(qtbot, play, CONTEXT, QUESTION)
    for side in (play.left, play.right):
        assert_answer_shown(side, found)

    play.compare.setChecked(False)
    ask(qtbot, play, CONTEXT, "  ")  # no question: said, nothing asked
    assert "Type a question first: the model looks for its answer in the context." in column.state.text()


def squad_file(tmp_path: Path) -> Path:
    """The qa demo's questions in SQuAD's JSON layout, pretty-printed: data, paragraphs, qas."""
    rows = [json.loads(line) for line in make_demo_corpus("qa", tmp_path, size_bytes=20_000).read_text().splitlines()]
    paragraphs = defaultdict(list)
    for n, r in enumerate(rows):
        answers = [{"text": r["answer"], "answer_start": r["answer_start"]}] if r["answer"] else []
        paragraphs[r["context"]].append({"id": str(n), "question": r["question"], "answers": answers,
                                         "is_impossible": not answers})
    squad = {"version": "v2.0", "data": [{"title": "facts", "paragraphs": [
        {"context": c, "qas": qas} for c, qas in paragraphs.items()]}]}
    path = tmp_path / "facts-squad.json"
    path.write_text(json.dumps(squad, indent=2))
    return path


def test_a_squad_file_is_previewed_prepared_and_designed_as_a_question_answerer(qtbot, window, tmp_path):
    corpus = window.corpus_page
    corpus.kind.setCurrentText("wordpiece")
    corpus.vocab_size.setValue(300)
    use_corpus(qtbot, window, squad_file(tmp_path))
    assert " questions. The first 5:" in corpus.preview.toPlainText()
    said = shown_text(corpus.qa_view)
    assert said.startswith("Questions on contexts (question answering).") and "the context does not answer" in said
    assert corpus.progress_label.text().startswith("Ready: ") and " questions, " in corpus.progress_label.text()
    assert corpus.stats.values["documents"].text().endswith(" questions")
    assert "tokens per context: mean " in said  # the engine's report, once prepared
    page = window.model_page
    form = page.form
    assert form.widget("model", "objective").currentText() == "span" and form.is_row_visible("task", "doc_stride")
    assert form.widget("task", "doc_stride").text() == "a quarter of the context"

    form.widget("model", "block_size").setValue(64)
    form.widget("task", "doc_stride").setValue(62)
    problems = html.unescape(page.problems.text())
    assert ("needs Context length [model.block_size] well above Window overlap [task.doc_stride]" in problems
            and not page.train_btn.isEnabled())
    form.widget("task", "doc_stride").setValue(0)
    form.widget("model", "arch").setCurrentText("gpt")
    assert "finds answers with a bidirectional encoder" in html.unescape(page.problems.text())
    assert not page.train_btn.isEnabled()
    form.widget("model", "objective").setCurrentText("causal")
    assert not form.is_row_visible("task", "doc_stride")


def test_a_bad_question_file_is_refused_on_the_corpus_page_in_one_sentence(qtbot, window, tmp_path):
    path = tmp_path / "questions.jsonl"
    row = {"context": CONTEXT, "question": QUESTION, "answer": "Lima"}
    path.write_text(json.dumps(row) + "\n" + json.dumps({**row, "answer": "Paris"}) + "\n")
    page = window.corpus_page
    page.set_sources([path])
    qtbot.waitUntil(lambda: "line 2" in page.progress_label.text(), timeout=30000)
    said = shown_text(page.progress_label)
    assert "questions.jsonl line 2: the answer 'Paris' is not found in its context" in said
    assert "Traceback" not in said and page.qa_view.isHidden() and not page.use_btn.isEnabled()
