"""The Few-shot panel's figures without Qt: a run's recorded evaluations as lines of accuracy against k with the
chance level, the file's stamp that says when to read it again, which runs can be evaluated, the request checked
with the engine's sentences before any process starts, and the command and its progress lines."""

import json
import os

import pytest

from engine.core.errors import UserError
from engine.run.fewshot_results import record_fewshot
from studio.state.fewshot import (
    chance_levels,
    checked_request,
    dialog_words,
    done_words,
    fewshot_args,
    fewshot_lines,
    not_applicable,
    progress_words,
    run_lines,
    said,
    shot_scored,
    stamp,
    suggested_task,
)


def entry(task="fewshot-upper", checkpoint="step-001500", step=1500, kind="choice", chance=0.25, path="/t/u.jsonl",
          accuracy=(0.27, 1.0, 1.0)):
    ks = (0, 1, 8)[: len(accuracy)]
    return {"task": task, "path": path, "kind": kind, "checkpoint": checkpoint, "step": step, "seed": 1234,
            "rows": 100, "chance": chance if kind == "choice" else None,
            "shots": [{"k": k, "accuracy": a, "rows": 100} for k, a in zip(ks, accuracy)]}


def write_rows(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_each_task_and_checkpoint_is_a_line_of_accuracy_against_k():
    lines = fewshot_lines([entry(), entry(task="free", kind="exact", accuracy=(0.1, 0.5)),
                           entry(checkpoint="step-000500", step=500, accuracy=(0.3, 0.6, 0.9)),
                           {"task": "broken", "shots": []}])
    assert [ln.name for ln in lines] == ["fewshot-upper · step 1,500", "free · step 1,500",
                                         "fewshot-upper · step 500"]
    assert lines[0].ks == (0, 1, 8) and lines[0].accuracy == (0.27, 1.0, 1.0) and lines[0].chance == 0.25
    assert lines[1].ks == (0, 1) and lines[1].chance is None  # exact match has no chance level
    assert chance_levels(lines) == [0.25]  # drawn once, dashed
    assert chance_levels(fewshot_lines([entry(), entry(task="yes-no", chance=0.5)])) == [0.25, 0.5]


def test_the_lines_come_from_the_run_folder_and_its_stamp_changes_with_it(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    assert run_lines(run) == [] and stamp(run) is None and run_lines(None) == []
    record_fewshot(run, entry())
    first = stamp(run)
    assert first is not None and [ln.name for ln in run_lines(run)] == ["fewshot-upper · step 1,500"]
    record_fewshot(run, entry(task="fewshot-digits", path="/t/d.jsonl"))
    os.utime(run / "fewshot.json", ns=(first[0] + 10**9, first[0] + 10**9))  # a coarse clock: a second later
    assert stamp(run) != first and len(run_lines(run)) == 2


def test_only_causal_and_instruct_runs_are_evaluated():
    assert not_applicable("causal", "r") == "" and not_applicable("instruct", "r") == ""
    why = not_applicable("tag", "entities")
    assert "causal or instruct run" in why and "entities is a tag run" in why
    assert "not yet started" in not_applicable(None, "new")


def test_a_request_is_checked_with_the_engines_sentences_before_anything_starts(tmp_path):
    rows = [{"question": w, "choices": [w, w.upper()], "answer": 1} for w in ("abc", "bad", "cab")]
    task = write_rows(tmp_path / "upper.jsonl", rows)
    assert checked_request(f" {task} ", "2, 0,1") == (task, [0, 1, 2])
    with pytest.raises(UserError, match=r"--shots 4 needs 5 rows .* but upper\.jsonl has 3"):
        checked_request(str(task), "0,4")
    with pytest.raises(UserError, match="not 'a few'"):
        checked_request(str(task), "a few")
    with pytest.raises(UserError, match="Choose a task file"):
        checked_request("  ", "0,1")
    with pytest.raises(UserError, match="task file not found"):
        checked_request(str(tmp_path / "gone.jsonl"), "0")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "abc"}\n{"question": "x", "choices": ["a", "b"], "answer": "c"}\n')
    with pytest.raises(UserError) as caught:
        checked_request(str(bad), "0")
    assert said(caught.value) == ("bad.jsonl line 1 has no answer: each row needs both; bad.jsonl line 2: the "
                                  "answer 'c' is not among the choices")


def test_the_command_its_progress_and_what_it_found(tmp_path):
    task = tmp_path / "fewshot-upper.jsonl"
    assert fewshot_args(tmp_path / "run", task, [0, 1, 8]) == ["fewshot", str(tmp_path / "run"), "--task", str(task),
                                                               "--shots", "0,1,8"]
    assert shot_scored("0 shots: 27.0% of 100 rows") == 0 and shot_scored("1 shot: 100.0% of 100 rows") == 1
    assert shot_scored("loading step-001500") is None
    assert progress_words(task, [0, 1, 8], [0]) == ("Evaluating fewshot-upper.jsonl with 0, 1, 8 examples in the "
                                                    "prompt (in the background): 1 of 3 done…")
    words = done_words(task, fewshot_lines([entry()]))
    assert words == "Evaluated fewshot-upper.jsonl: 27% with 0 examples, 100% with 8 (best 100% at k = 1)."


def test_the_dialog_offers_the_last_task_file_else_one_beside_the_corpus(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    corpus = tmp_path / "fewshot.txt"
    corpus.write_text("Question: abc\nAnswer: ABC\n\n")
    beside = write_rows(tmp_path / "fewshot-copy.jsonl", [{"question": "a", "answer": "a"}])
    assert suggested_task(run, str(corpus)) == str(beside)
    assert suggested_task(None, None) == ""
    other = write_rows(tmp_path / "mine.jsonl", [{"question": "a", "answer": "a"}])
    record_fewshot(run, entry(path=str(other)))
    assert suggested_task(run, str(corpus)) == str(other)


def test_the_dialog_names_the_shots_field_and_keeps_a_flags_dashes_together():
    assert dialog_words("ask for fewer shots (--shots 0,1,2,4)") == "ask for fewer shots (Shots 0,1,2,4)"
    assert dialog_words("--shots is empty") == "Shots is empty"
    kept = dialog_words("give --task a file; my-file--x.jsonl stays")
    assert kept == "give \u2011\u2011task a file; my-file--x.jsonl stays"  # non-breaking hyphens, never a wrap
