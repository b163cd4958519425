"""Question answering in the studio without Qt: which sources hold questions on contexts (JSONL, CSV, SQuAD's JSON),
their preview with each answer's character offsets (or none), Prepare's tokenizer and the engine's report, what the
corpus state forgets, the Corpus page's excerpt of a long context, and the Playground's answer line and marks."""

import json

import pytest

from engine.config import schema as C
from engine.core.errors import UserError
from engine.demo import make_demo_corpus
from studio.corpus.qa_view import excerpt, qa_html
from studio.playground.answer import answer_line, answer_marks, missing_input
from studio.state.corpus import CorpusState, records_objective
from studio.state.qa_corpus import ANSWER_KIND, is_questions, marked_question, prepare_questions, preview_questions
from studio.widgets.run_texts import context_and_question

CONTEXT = "Ada Lovelace was born in London in 1815. Alan Turing moved to Manchester in 1948."
ROWS = [{"context": CONTEXT, "question": "Where was Ada Lovelace born?", "answer": "London"},
        {"context": CONTEXT, "question": "When did Alan Turing move?", "answer": "1948", "answer_start": 76},
        {"context": CONTEXT, "question": "Who won a prize in Oslo?", "answer": ""}]
SQUAD = {"version": "v2.0", "data": [{"title": "People", "paragraphs": [{"context": CONTEXT, "qas": [
    {"id": "1", "question": "Where was Ada Lovelace born?", "answers": [{"text": "London", "answer_start": 25}],
     "is_impossible": False},
    {"id": "2", "question": "Who won a prize in Oslo?", "answers": [], "is_impossible": True}]}]}]}


def data(path) -> C.DataConfig:
    d = C.DataConfig()
    d.path = str(path)
    return d


def jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_jsonl_csv_and_squad_json_hold_questions_and_text_tagged_chat_and_other_tables_do_not(tmp_path):
    jsonl(tmp_path / "q.jsonl", ROWS)
    (tmp_path / "q.csv").write_text(f'context,question,answer\n"{CONTEXT}",Where was Ada Lovelace born?,London\n')
    (tmp_path / "pretty.json").write_text(json.dumps(SQUAD, indent=2))  # as people save it
    (tmp_path / "one-line.json").write_text(json.dumps(SQUAD))  # as SQuAD publishes it
    folder = tmp_path / "folder"
    folder.mkdir()
    jsonl(folder / "train.jsonl", ROWS)
    jsonl(folder / "dev.jsonl", ROWS)
    for name in ("q.jsonl", "q.csv", "pretty.json", "one-line.json", "folder"):
        assert is_questions(tmp_path / name), name
        assert records_objective(str(tmp_path / name)) == "span", name
    (tmp_path / "prose.txt").write_text("Ada Lovelace was born in London.\n")
    jsonl(tmp_path / "rows.jsonl", [{"text": "Ada", "label": "x"}])
    (tmp_path / "no-answer.csv").write_text("context,question\nAda,Who?\n")  # a CSV's answer column is needed
    jsonl(tmp_path / "tagged.jsonl", [{"tokens": ["Ada"], "tags": ["B-PER"]}])
    jsonl(tmp_path / "chat.jsonl", [{"messages": [{"role": "user", "content": "hi"}]}])
    (tmp_path / "other.json").write_text(json.dumps({"data": [1, 2]}, indent=2))
    for name in ("prose.txt", "rows.jsonl", "no-answer.csv", "tagged.jsonl", "chat.jsonl", "other.json", "gone.jsonl"):
        assert not is_questions(tmp_path / name), name
        assert records_objective(str(tmp_path / name)) != "span", name
    assert not is_questions("")


def test_the_preview_counts_questions_and_marks_each_answer_where_it_stands_in_its_context(tmp_path):
    preview = preview_questions(data(jsonl(tmp_path / "q.jsonl", ROWS)))
    assert (preview.questions, preview.contexts, preview.unanswerable) == (3, 1, 1)
    london, year, none = preview.first
    assert london.answer == {"kind": ANSWER_KIND, "text": "London", "start": 25, "end": 31}
    assert CONTEXT[year.answer["start"]:year.answer["end"]] == "1948" and none.answer is None
    assert preview.readable()[0] == f"Where was Ada Lovelace born?\n→ London\n{CONTEXT}"
    assert preview.readable()[2].startswith("Who won a prize in Oslo?\n→ (the context does not answer it)\n")
    (tmp_path / "s.json").write_text(json.dumps(SQUAD))
    squad = preview_questions(data(tmp_path / "s.json"))
    assert (squad.questions, squad.unanswerable) == (2, 1) and squad.first[0].answer["start"] == 25


def test_a_bad_question_is_refused_in_the_engines_sentence(tmp_path):
    path = jsonl(tmp_path / "bad.jsonl", [ROWS[0], {**ROWS[0], "answer": "Paris"}])
    assert is_questions(path)  # its fields are a question answerer's: read, then refused
    with pytest.raises(UserError, match=r"bad\.jsonl line 2: the answer 'Paris' is not found in its context"):
        preview_questions(data(path))


def test_prepare_trains_the_tokenizer_on_contexts_and_questions_and_says_what_the_engine_reports(tmp_path):
    cfg = C.RunConfig()
    cfg.data.path = str(make_demo_corpus("qa", tmp_path, size_bytes=8000))
    cfg.tokenizer.kind, cfg.tokenizer.vocab_size = "wordpiece", 300
    said = []
    prepared = prepare_questions(cfg, lambda stage, message: said.append(stage))
    assert "read" in said and "tokenizer" in said
    n = prepared.records
    assert prepared.report[0].startswith(f"questions {n:,} on ") and "the context does not answer" in prepared.report[0]
    assert prepared.report[1].startswith("tokens per context: mean ")
    assert not any("block_size" in line or "windows" in line for line in prepared.report)  # the Model page's
    assert prepared.tokens > n * 20  # every question framed with its context
    assert prepared.ready_line() == (f"Ready: {n:,} questions, {prepared.tokens:,} tokens, vocabulary of "
                                     f"{prepared.vocab_size:,}.")
    assert prepared.card()["documents"] == f"{n:,} questions"
    assert "[CLS]" in prepared.tokenizer.hf.get_vocab() and "[SEP]" in prepared.tokenizer.hf.get_vocab()


def test_the_corpus_state_forgets_questions_with_their_source(tmp_path):
    state = CorpusState()
    state.choose(str(tmp_path / "q.jsonl"))
    state.previewed([], questions=preview_questions(data(jsonl(tmp_path / "q.jsonl", ROWS))))
    state.set_prepared(100, 50, "Ready", ["questions 3 on 1 contexts"])
    assert state.questions.questions == 3 and state.tagged is None
    assert "Questions on contexts" in qa_html(state.questions, state.report)
    assert "questions 3 on 1 contexts" in qa_html(state.questions, state.report)
    state.choose(str(tmp_path / "other.txt"))
    assert state.questions is None and state.report == [] and qa_html(state.questions, state.report) == ""


def test_a_long_context_is_shown_around_its_answer_with_the_mark_moved_along():
    context = "x" * 300 + " the answer " + "y" * 300
    start = context.index("the answer")
    example = type("E", (), {"question": "Q?", "context": context, "answers": ["the answer"], "starts": [start]})
    text, marks = excerpt(marked_question(example), most=100)
    assert text.startswith("…") and text.endswith("…") and len(text) == 102
    assert text[marks[0]["start"]:marks[0]["end"]] == "the answer"
    short, none = excerpt(marked_question(type("E", (), {"question": "Q?", "context": "abc", "answers": [],
                                                         "starts": []})))
    assert (short, none) == ("abc", [])


def test_the_playground_says_the_answer_with_its_score_or_that_there_is_none():
    found = {"kind": "span", "text": "London", "start": 25, "end": 31, "score": 0.873, "no_answer": 0.01,
             "windows": 1}
    assert answer_line(found) == "Answer: 'London' (score 87.3%)"
    assert answer_marks(found) == [{"kind": ANSWER_KIND, "text": "London", "start": 25, "end": 31, "score": 0.873}]
    none = {**found, "text": "", "start": 0, "end": 0, "score": 0.02, "no_answer": 0.91, "windows": 3}
    assert answer_marks(none) == []
    assert answer_line(none) == ("No answer: the context does not answer the question, the model finds (no-answer "
                                 "score 91.0% over the best span's 2.0%, read in 3 windows)")
    assert missing_input("span", CONTEXT, " ") == ("Type a question first: the model looks for its answer in the "
                                                   "context.")
    assert missing_input("span", "", "Who?").startswith("Type a context first")
    assert missing_input("span", CONTEXT, "Who?") == ""


def test_a_question_answerers_default_context_and_question_are_its_first_validation_windows():
    assert context_and_question("[CLS] where was ada born ? [SEP] ada was born in oslo . [SEP]") == (
        "ada was born in oslo .", "where was ada born ?")
    assert context_and_question("no framing here") == ("", "")
