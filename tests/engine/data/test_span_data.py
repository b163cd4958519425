"""Extractive question answering's data: JSONL, CSV and SQuAD's JSON read and refused in one sentence, questions
framed and cut into overlapping windows (an answer in the second one found), unanswerable questions, and the
answer picked from start and end logits as transformers' pipeline picks it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.core.errors import UserError
from engine.data.span_decode import best_span, span_chars
from engine.data.span_examples import SpanExample, read_span_examples
from engine.data.span_windows import encode_windows
from engine.data.tokenizer import train_tokenizer

CONTEXT = "Ada Lovelace was born in London in 1815. She wrote the first program."
SQUAD = {"version": "v2.0", "data": [{"title": "Ada", "paragraphs": [{"context": CONTEXT, "qas": [
    {"id": "q1", "question": "Where was Ada born?", "answers": [{"text": "London", "answer_start": 25}],
     "is_impossible": False},
    {"id": "q2", "question": "When was she born?", "answers": [{"text": "1815", "answer_start": 35},
                                                               {"text": "in 1815", "answer_start": 32}]},
    {"id": "q3", "question": "Where did Ada die?", "answers": [], "is_impossible": True,
     "plausible_answers": [{"text": "London", "answer_start": 25}]}]}]}]}


# ----- reading --------------------------------------------------------------------------------------
def test_jsonl_rows_give_the_answer_as_text_offset_or_squad_lists(tmp_path):
    path = tmp_path / "qa.jsonl"
    rows = [{"context": CONTEXT, "question": "Where?", "answer": "London", "answer_start": 25},
            {"context": CONTEXT, "question": "Who?", "answer": "Ada Lovelace"},  # found in the context
            {"context": CONTEXT, "question": "When?", "answers": {"text": ["1815"], "answer_start": [35]}},
            {"context": CONTEXT, "question": "What?", "answers": [{"text": "the first program", "answer_start": 51}]},
            {"context": CONTEXT, "question": "Why?", "answer": ""},
            {"context": CONTEXT, "question": "How?", "is_impossible": True}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    examples = read_span_examples(path)
    assert [(e.answers, e.starts) for e in examples] == [(["London"], [25]), (["Ada Lovelace"], [0]),
                                                         (["1815"], [35]), (["the first program"], [51]),
                                                         ([], []), ([], [])]


def test_csv_rows_take_an_optional_offset_and_an_empty_answer_for_none(tmp_path):
    path = tmp_path / "qa.csv"
    path.write_text('context,question,answer,answer_start\n'
                    f'"{CONTEXT}",Where was Ada born?,London,25\n'
                    f'"{CONTEXT}",When?,1815,\n'
                    f'"{CONTEXT}",Where did she die?,,\n')
    examples = read_span_examples(path)
    assert [(e.question, e.answers, e.starts) for e in examples] == [
        ("Where was Ada born?", ["London"], [25]), ("When?", ["1815"], [35]), ("Where did she die?", [], [])]


def test_squads_own_json_is_read_as_it_is_published(tmp_path):
    path = tmp_path / "dev-v2.0.json"
    path.write_text(json.dumps(SQUAD, indent=2))
    examples = read_span_examples(path)
    assert [(e.question, e.answers, e.starts) for e in examples] == [
        ("Where was Ada born?", ["London"], [25]), ("When was she born?", ["1815", "in 1815"], [35, 32]),
        ("Where did Ada die?", [], [])]  # is_impossible: its plausible answer is not an answer
    assert all(e.context == CONTEXT for e in examples)


@pytest.mark.parametrize("name, text, message", [
    ("a.jsonl", json.dumps({"context": CONTEXT, "question": "Who?", "answer": "Turing"}),
     r"a\.jsonl line 1: the answer 'Turing' is not found in its context"),
    ("a.jsonl", json.dumps({"context": CONTEXT, "question": "Where?", "answer": "London", "answer_start": 3}),
     r"a\.jsonl line 1: the answer 'London' is not at answer_start 3 of its context \(there it reads ' Lovel'\)"),
    ("a.jsonl", json.dumps({"context": CONTEXT, "question": "Q", "answer": ""}) + "\n" +
     json.dumps({"context": CONTEXT, "answer": "London"}),
     r"a\.jsonl line 2 has no question: each row holds a context, a question and its answer"),
    ("a.jsonl", json.dumps({"context": CONTEXT, "question": "Who?"}), r"a\.jsonl line 1 has no answer: give answer"),
    ("a.jsonl", json.dumps({"context": " ", "question": "Who?", "answer": ""}), r"a\.jsonl line 1 has an empty "
                                                                                r"context"),
    ("a.jsonl", '{"context": "x",\n', r"a\.jsonl line 1 is not JSON"),
    ("a.jsonl", json.dumps({"text": "x"}), r"a\.jsonl has no context or question field \(it has text\)"),
    ("a.jsonl", json.dumps({"context": CONTEXT, "question": "Q", "answers": {"text": ["London"]}}),
     r"answers holds text and answer_start lists of one length each"),
    ("a.json", json.dumps({"questions": [1, 2]}, indent=1), r"a\.json is one JSON value but not in SQuAD's layout"),
    ("a.json", json.dumps({"data": [{"title": "x"}]}), r"a\.json data\[0\] has no paragraphs list"),
    ("a.csv", "context,question\nx,y\n", r"a\.csv has no answer column"),
    ("a.csv", f'context,question,answer,answer_start\n"{CONTEXT}",Q,London,first\n',
     r"a\.csv line 2: answer_start 'first' is not a whole number"),
    ("a.txt", "plain text\n", r"a\.txt is plain text: model\.objective = \"span\" reads JSONL or CSV rows"),
])
def test_bad_question_files_are_refused_in_one_sentence_naming_the_file_and_line(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text + "\n")
    with pytest.raises(UserError, match=message) as e:
        read_span_examples(path)
    assert "\n" not in str(e.value)


def test_a_squad_answer_off_its_offset_is_named_by_its_place_and_id(tmp_path):
    bad = json.loads(json.dumps(SQUAD))
    bad["data"][0]["paragraphs"][0]["qas"][1]["answers"][0]["answer_start"] = 36
    path = tmp_path / "train.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(UserError, match=r"train\.json data\[0\]\.paragraphs\[0\]\.qas\[1\] \(id q2\): the answer "
                                        r"'1815' is not at answer_start 36"):
        read_span_examples(path)


# ----- windows --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wordpiece():
    from engine.data.masked import special_ids

    tok = train_tokenizer("wordpiece", lambda: [CONTEXT, "Where was Ada born? Who wrote it?"] * 5, vocab_size=200)
    special_ids(tok)
    return tok


def _example(question: str, answer: str | None) -> SpanExample:
    return SpanExample(CONTEXT, question, [answer] if answer else [], [CONTEXT.index(answer)] if answer else [])


def test_a_question_and_its_context_are_framed_with_token_types(wordpiece):
    split = encode_windows(wordpiece, [_example("Where was Ada born?", "London")], 64, 8, 0)
    assert len(split) == 1
    ids = split.idx[0, : split.lengths[0]].tolist()
    cls, sep = wordpiece.token_id("[CLS]"), wordpiece.token_id("[SEP]")
    q = wordpiece.encode("Where was Ada born?")
    assert ids[: len(q) + 2] == [cls, *q, sep] and ids[-1] == sep and ids[len(q) + 2:-1] == wordpiece.encode(CONTEXT)
    assert split.token_types[0, : len(q) + 2].tolist() == [0] * (len(q) + 2)
    assert set(split.token_types[0, len(q) + 2: split.lengths[0]].tolist()) == {1}
    start, end = split.labels[0]
    assert wordpiece.decode(ids[start: end + 1]) == "London"
    assert split.allowed(np.array([0]))[0].tolist() == [True] + [False] * (len(q) + 1) + [True] * (
        len(ids) - len(q) - 3) + [False] * (64 - len(ids) + 1)


def test_a_context_longer_than_the_model_is_read_in_overlapping_windows_and_the_answer_found_in_the_second(wordpiece):
    T, stride = 16, 4
    question = "Who wrote it?"
    split = encode_windows(wordpiece, [_example(question, "the first program")], T, stride, 0)
    assert len(split) >= 3 and set(split.example.tolist()) == {0} and split.lengths.max() == T
    room = T - 3 - len(wordpiece.encode(question))
    context_ids = [split.idx[w, split.token_types[w] == 1][:-1].tolist() for w in range(len(split))]
    for before, after in zip(context_ids, context_ids[1:]):
        assert len(before) == room
        assert before[-stride:] == after[:stride]  # each window repeats the last `stride` tokens of the one before
    held = [w for w in range(len(split)) if split.labels[w, 0] > 0]
    assert held and held[0] > 0 and split.labels[0].tolist() == [0, 0]  # not in the first window: [CLS]
    w = held[0]
    start, end = split.labels[w]
    assert wordpiece.decode(split.idx[w, start: end + 1].tolist()) == "the first program"
    # logits that point at the answer in that window (and nowhere much elsewhere) give it back, in characters
    logits = np.full((len(split), T, 2), -5.0)
    logits[:, 0, :] = 0.0
    logits[w, start, 0] = logits[w, end, 1] = 8.0
    guess = best_span(logits[..., 0], logits[..., 1], split.allowed(np.arange(len(split))))
    assert guess.window == w and guess.answered
    a, b = span_chars(guess, split.word_start, split.word_end)
    assert CONTEXT[a:b] == "the first program"


def test_an_unanswerable_question_labels_every_window_with_cls_and_wins_when_cls_scores_highest(wordpiece):
    split = encode_windows(wordpiece, [_example("Where did she die?", None)], 20, 4, 0)
    assert len(split) > 1 and split.labels.tolist() == [[0, 0]] * len(split)
    logits = np.zeros((len(split), 20, 2))
    logits[:, 0, :] = 6.0  # [CLS] everywhere
    guess = best_span(logits[..., 0], logits[..., 1], split.allowed(np.arange(len(split))))
    assert not guess.answered and guess.no_answer > guess.score
    assert span_chars(guess, split.word_start, split.word_end) == (0, 0)


def test_the_best_span_follows_the_pipelines_rule():
    allowed = np.array([[True, False, True, True, True, True]])
    start = np.array([[1.0, 9.0, 1.5, 0.0, 3.0, 0.0]])  # position 1 is the question: never a start
    end = np.array([[1.0, 0.0, 0.0, 5.0, 0.0, 4.0]])
    guess = best_span(start, end, allowed)
    # softmax over the allowed positions 0, 2, 3, 4, 5; [CLS] (0) then set aside. Start 4 and end 5 score
    # e^(3+4) against start 2 and end 3's e^(1.5+5); an end before its start (4, 3) is no span
    ps = np.exp([1.0, 1.5, 0.0, 3.0, 0.0]) / np.exp([1.0, 1.5, 0.0, 3.0, 0.0]).sum()
    pe = np.exp([1.0, 0.0, 5.0, 0.0, 4.0]) / np.exp([1.0, 0.0, 5.0, 0.0, 4.0]).sum()
    assert (guess.start, guess.end) == (4, 5) and guess.score == pytest.approx(ps[3] * pe[4])
    assert guess.no_answer == pytest.approx(ps[0] * pe[0]) and guess.answered
    one = best_span(start, end, allowed, max_tokens=1)  # one token long at most: position 3's e^(0+5) wins
    assert (one.start, one.end) == (3, 3) and one.score == pytest.approx(ps[2] * pe[2])


def test_a_question_too_long_for_the_window_is_refused_in_words(wordpiece):
    from engine.data.span_windows import check_question_room

    check_question_room(wordpiece, ["Who?"], 16, 4)
    with pytest.raises(UserError, match=r"leaves \d+ of model\.block_size = 16 for its context, which must be more "
                                        r"than the windows' overlap of 4 \(task\.doc_stride\)"):
        check_question_room(wordpiece, ["Where was Ada Lovelace born and who wrote the first program?"], 16, 4)


# ----- the command line -------------------------------------------------------------------------------
def _config(tmp_path, corpus, **task) -> str:
    path = tmp_path / "run.toml"
    path.write_text(f'[data]\npath = "{corpus}"\n[tokenizer]\nkind = "wordpiece"\nvocab_size = 300\n'
                    f'[model]\nobjective = "span"\nn_layer = 1\nn_head = 2\nn_embd = 16\nblock_size = 32\n'
                    f'[train]\nmax_steps = 2\nout_dir = "{tmp_path / "run"}"\n'
                    + "".join(f"[task]\n{k} = {v}\n" for k, v in task.items()))
    return str(path)


def test_a_span_config_is_prepared_and_checked_before_training(tmp_path, capsys):
    from engine.cli import main
    from engine.config.rules import problems
    from engine.data.corpus_check import corpus_problems
    from tests.conftest import tiny_config

    corpus = tmp_path / "qa.jsonl"
    corpus.write_text("".join(json.dumps({"context": CONTEXT + f" It was {i}.", "question": "Where was Ada born?",
                                          "answer": "London" if i % 3 else ""}) + "\n" for i in range(12)))
    cfg = tiny_config(corpus, tmp_path, model={"objective": "span", "block_size": 32})
    assert cfg.arch == "bert" and problems(cfg) == [] and corpus_problems(cfg) == []
    cfg.model.arch = "gpt"
    assert any('"span" finds answers with a bidirectional encoder' in p for p in problems(cfg))
    cfg.model.arch, cfg.model.block_size, cfg.task.doc_stride = "auto", 16, 12
    assert any("needs model.block_size well above task.doc_stride" in p for p in problems(cfg))
    assert main(["prepare", _config(tmp_path, corpus)]) == 0
    out = capsys.readouterr().out
    assert "questions 12 on 12 contexts; 4 the context does not answer" in out and "overlapping by 8" in out


@pytest.mark.parametrize("row, said", [
    ({"context": CONTEXT, "question": "Who?", "answer": "Turing"}, "the answer 'Turing' is not found in its context"),
    ({"context": CONTEXT, "answer": "London"}, "has no question"),
])
def test_bad_questions_stop_train_with_one_line_and_exit_2(tmp_path, capsys, row, said):
    from engine.cli import main

    corpus = tmp_path / "qa.jsonl"
    corpus.write_text(json.dumps({"context": CONTEXT, "question": "Where?", "answer": "London"}) + "\n"
                      + json.dumps(row) + "\n")
    assert main(["train", _config(tmp_path, corpus)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: qa.jsonl line 2") and said in err[0]


def test_predict_refuses_a_question_without_its_context_before_loading_anything(tmp_path, capsys):
    from engine.cli import main

    assert main(["predict", str(tmp_path), "--question", "Where?"]) == 2
    assert capsys.readouterr().err.strip() == "error: --context is missing: give the text the answer is found in"
    assert main(["predict", str(tmp_path), "--text", "x", "--context", "y", "--question", "z"]) == 2
    assert "not both" in capsys.readouterr().err
