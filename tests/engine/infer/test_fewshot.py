"""Few-shot evaluation: choices scored by their log-likelihood after the prompt, free answers by the greedy one,
examples drawn reproducibly from the other rows, bad task files refused in a sentence a problem, and the same
figures from lm-evaluation-harness on the exported model."""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.cli import main
from engine.core.errors import UserError
from engine.data.fewshot_task import context, example_order, read_task
from engine.data.pairs import PROMPT_TEMPLATE
from engine.demo.fewshot import RULES, fewshot_corpus, write_fewshot_tasks
from engine.infer.fewshot import build_prompts, check_fewshot_model, evaluate_fewshot, greedy_answer, loglikelihoods
from engine.infer.generate import banned_ids
from engine.model.load import load_for_inference
from engine.run.fewshot_results import read_fewshot
from tests.conftest import tiny_config
from tests.helpers import train

ROOT = Path(__file__).resolve().parents[3]


def write_rows(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A tiny causal run trained on the few-shot demo's corpus (context 64: a prompt of one example fits, of two
    does not), with the demo's task files beside it."""
    tmp = tmp_path_factory.mktemp("fewshot")
    corpus = tmp / "fewshot.txt"
    corpus.write_text(fewshot_corpus(random.Random(0), 30_000), encoding="utf-8")
    train(tiny_config(corpus, tmp, model={"block_size": 64}, train={"max_steps": 30, "eval_interval": 30}))
    write_fewshot_tasks(tmp)
    return tmp / "run"


@pytest.fixture(scope="module")
def loaded(run):
    return load_for_inference(run)[:2]


def direct_loglikelihood(model, tokenizer, prompt: str, answer: str) -> float:
    """One forward pass of the prompt and answer alone; the answer's characters' log-probabilities summed (a char
    tokenizer: a token a character)."""
    ids = tokenizer.encode(prompt + answer)
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([ids[:-1]]))[0][0].float(), dim=-1)
    return sum(float(logp[t - 1, ids[t]]) for t in range(len(ids) - len(answer), len(ids)))


def test_choices_are_scored_by_their_summed_log_probabilities_as_a_direct_forward_pass_gives(loaded, tmp_path):
    model, tokenizer = loaded
    rows = [{"question": "abc", "choices": ["A", "ABC", "abcdef"], "answer": 1},
            {"question": "bad", "choices": ["bad", "BA", "1"], "answer": "bad"},
            {"question": "hhg", "choices": ["ppo", "H", "776"], "answer": 2}]
    task = read_task(write_rows(tmp_path / "t.jsonl", rows))
    right = {0: [0, 0], 1: [0, 0]}
    for k in (0, 1):
        for i, (row, prompt) in enumerate(zip(task.rows, build_prompts(task, tokenizer, [k], 3, 7, False, 64)[k])):
            assert prompt.text == context(task, i, k, 7) and prompt.text.endswith(f"Question: {row.question}\nAnswer:")
            lls = loglikelihoods(model, prompt.context, prompt.continuations)
            by_hand = [direct_loglikelihood(model, tokenizer, prompt.text, " " + c) for c in row.choices]
            assert lls == pytest.approx(by_hand, abs=1e-4)
            right[k][0] += int(np.argmax(by_hand)) == row.gold
            right[k][1] += int(np.argmax(np.array(by_hand) / [len(c) for c in row.choices])) == row.gold  # lm-eval
    scores = evaluate_fewshot(model, tokenizer, task, [0, 1], seed=7)
    assert [(s.k, s.accuracy, s.acc_norm, s.rows) for s in scores] == [
        (k, right[k][0] / 3, right[k][1] / 3, 3) for k in (0, 1)]


def greedy_next(model, tokenizer, ids: list[int]) -> int:
    """The most likely next token of a whole forward pass, never one a model must not write (unknown, padding)."""
    with torch.no_grad():
        logits = model(torch.tensor([ids]))[0][0, -1]
    logits[banned_ids(model, tokenizer)] = float("-inf")
    return int(logits.argmax())


def test_a_free_answer_is_right_when_the_greedy_continuation_to_the_newline_is_it(loaded, tmp_path):
    model, tokenizer = loaded
    task = read_task(write_rows(tmp_path / "free.jsonl", [{"question": w, "answer": w.upper()}
                                                         for w in ("abc", "bad", "hgf", "ccc")]))
    prompts = build_prompts(task, tokenizer, [0, 1], 4, 0, False, 64)
    for k in (0, 1):
        right = 0
        for row, prompt in zip(task.rows, prompts[k]):
            ids = tokenizer.encode(prompt.text)
            for _ in range(len(" " + row.answer) + 2):  # greedy by hand: a whole forward pass a token
                ids.append(greedy_next(model, tokenizer, ids))
            by_hand = tokenizer.decode(ids[len(tokenizer.encode(prompt.text)):]).split("\n")[0].strip()
            assert greedy_answer(model, tokenizer, prompt, False) == by_hand
            right += by_hand == row.answer
        assert evaluate_fewshot(model, tokenizer, task, [k], seed=0)[0].accuracy == right / 4


def test_an_instruct_run_reads_the_examples_and_question_as_its_source(loaded, tmp_path):
    _, tokenizer = loaded
    task = read_task(write_rows(tmp_path / "t.jsonl", [{"question": w, "choices": [w, w.upper()], "answer": 1}
                                                       for w in ("abc", "bad", "hgf")]))
    prompt = build_prompts(task, tokenizer, [2], 3, 0, True, 512)[2][0]
    assert prompt.source == context(task, 0, 2, 0) and prompt.text == PROMPT_TEMPLATE.format(source=prompt.source)
    # the template ends in a newline, which goes with the answer (lm-eval moves a prompt's trailing space)
    assert prompt.continuations == [tokenizer.encode("\nabc"), tokenizer.encode("\nABC")]
    assert prompt.context == tokenizer.encode(prompt.text[:-1])


def test_examples_are_drawn_reproducibly_from_the_other_rows_only(tmp_path):
    task = read_task(write_rows(tmp_path / "t.jsonl", [{"question": f"q{i}", "answer": f"a{i}"} for i in range(12)]))
    for i in range(12):
        order = example_order(12, i, seed=3)
        assert sorted(order) == [j for j in range(12) if j != i]  # every other row, never the one asked
        for k in (0, 1, 4, 11):
            prompt = context(task, i, k, 3)
            assert prompt == context(task, i, k, 3) and prompt.count("Question:") == k + 1
            assert prompt.endswith(f"Question: q{i}\nAnswer:") and f"Answer: a{i}\n" not in prompt
            assert prompt.startswith("".join(task.rows[j].shown() for j in order[:k]))  # fewer shots: the first k
    assert any(example_order(12, i, 3) != example_order(12, i, 4) for i in range(12))  # the seed draws them
    code = ("from engine.data.fewshot_task import read_task, context; "
            f"print(repr(context(read_task({str(tmp_path / 't.jsonl')!r}), 5, 4, 3)))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                           env=dict(os.environ, PYTHONHASHSEED="12345"), check=True)
    assert other.stdout.strip() == repr(context(task, 5, 4, 3))  # the same in another process


def fewshot(*args) -> tuple[int, str, str]:
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["fewshot", *map(str, args)])
    return code, out.getvalue(), err.getvalue()


GOOD = {"question": "abc", "choices": ["abc", "ABC"], "answer": 1}
BAD_FILES = {
    "no question": ([GOOD, {"choices": ["a", "b"], "answer": 0}], r"t.jsonl line 2 has no question"),
    "no answer": ([{"question": "abc"}, GOOD], r"t.jsonl line 1 has no answer"),
    "an index past the choices": ([GOOD, {"question": "a", "choices": ["a", "b"], "answer": 2}],
                                  r"t.jsonl line 2: the answer 2 is not among the choices"),
    "a text not among the choices": ([GOOD, GOOD, {"question": "a", "choices": ["a", "b"], "answer": "c"}],
                                     r"t.jsonl line 3: the answer 'c' is not among the choices"),
    "an empty file": ([], r"t.jsonl holds no rows"),
    "a line that is not JSON": ([GOOD, "{question: abc"], r"t.jsonl line 2 is not JSON"),
    "another kind of file": (["foo bar", "", "baz"], r"t.jsonl is not JSONL \(Expecting value at column 1 on its "
                                                     r"first line\): a task file holds one JSON object a line"),
    "one choice": ([{"question": "a", "choices": ["a"], "answer": 0}, GOOD], r"line 1: choices must be a list"),
    "choices and free answers mixed": ([GOOD, {"question": "a", "answer": "b"}],
                                       r"t.jsonl mixes multiple choice \(line 1\) with free answers \(line 2\)"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_task_file_is_refused_in_a_sentence_naming_its_line(tmp_path, case):
    rows, message = BAD_FILES[case]
    code, out, err = fewshot(tmp_path / "no-run", "--task", write_rows(tmp_path / "t.jsonl", rows))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    with pytest.raises(UserError, match=message):
        read_task(tmp_path / "t.jsonl")


def test_every_problem_of_a_file_is_listed_one_a_line(tmp_path):
    rows = [{"answer": 1}, GOOD, {"question": "a", "choices": ["a", "b"], "answer": 5}, "not json"]
    code, _, err = fewshot(tmp_path / "no-run", "--task", write_rows(tmp_path / "t.jsonl", rows))
    assert code == 2
    assert err.splitlines() == ["  - t.jsonl line 1 has no question: each row needs both",
                                "  - t.jsonl line 3: the answer 5 is not among the choices (an index from 0 to 1)",
                                "  - t.jsonl line 4 is not JSON (Expecting value at column 1)",
                                "error: 3 problems, listed above"]


@pytest.mark.parametrize("args, message", [
    (["--shots", "0,x"], "--shots takes numbers of examples separated by commas"),
    (["--shots", "0,4"], "--shots 4 needs 5 rows .* but t.jsonl has 3"),
    (["--shots", "-1"], "--shots -1 is negative"),
    (["--limit", "0"], "--limit 0 asks for no rows"),
])
def test_bad_options_are_refused_before_any_model_is_loaded(tmp_path, args, message):
    import re

    code, _, err = fewshot(tmp_path / "no-run", "--task", write_rows(tmp_path / "t.jsonl", [GOOD] * 3), *args)
    assert code == 2 and re.search(message, err) and err.count("\n") == 1


def test_a_prompt_longer_than_the_context_is_refused_before_anything_is_scored(run):
    before = read_fewshot(run)
    code, _, err = fewshot(run, "--task", run.parent / "fewshot-upper.jsonl", "--shots", "0,1,2")
    assert code == 2
    assert "the 2-shot prompt for fewshot-upper.jsonl line 1 with its longest choice is 79 tokens, more than the " \
           "64 this model reads (model.block_size): ask for fewer shots (--shots 0,1)" in err
    assert read_fewshot(run) == before


def test_only_a_decoder_that_continues_text_is_scored():
    from engine.model.build import build_model
    from engine.model.gpt import GPTConfig

    classifier = build_model(GPTConfig(vocab_size=16, block_size=8, n_layer=1, n_head=1, n_embd=8, num_labels=2))
    with pytest.raises(UserError, match="fewshot scores causal and instruct runs .*; sentiment is a classify run"):
        check_fewshot_model(classifier, "classify", "sentiment")


def test_the_command_prints_accuracy_against_shots_and_records_it_in_the_run(run, loaded):
    task = run.parent / "fewshot-digits.jsonl"
    code, out, err = fewshot(run, "--task", task, "--shots", "1,0", "--limit", "12", "--seed", "5")
    assert code == 0 and "recorded in" in err
    lines = out.splitlines()
    assert lines[0].startswith("fewshot-digits: multiple choice, 12 rows, examples drawn with seed 5 (checkpoint "
                               "step-000030, chance 25.0%)")
    assert lines[1] == "shots  accuracy  acc_norm" and [line.split()[0] for line in lines[2:]] == ["0", "1"]
    entry = next(e for e in read_fewshot(run) if e["task"] == "fewshot-digits")
    expected = evaluate_fewshot(*loaded, read_task(task), [0, 1], seed=5, limit=12)
    assert [(s["k"], s["accuracy"], s["acc_norm"], s["rows"]) for s in entry["shots"]] == \
           [(s.k, s.accuracy, s.acc_norm, s.rows) for s in expected]
    assert entry | {"shots": None} == {"task": "fewshot-digits", "path": str(task.resolve()), "kind": "choice",
                                       "checkpoint": "step-000030", "step": 30, "seed": 5, "rows": 12,
                                       "chance": 0.25, "shots": None}
    code, out, _ = fewshot(run, "--task", task, "--shots", "0", "--limit", "4", "--json")
    entries = read_fewshot(run)
    assert code == 0 and json.loads(out) == entries[-1]  # the same task and checkpoint: replaced
    assert [e["task"] for e in entries].count("fewshot-digits") == 1
    free = write_rows(run.parent / "free.jsonl", [{"question": w, "answer": w.upper()} for w in ("abc", "bad")])
    code, out, _ = fewshot(run, "--task", free, "--shots", "0,1")
    assert code == 0 and out.splitlines()[1] == "shots  exact match" and len(read_fewshot(run)) == len(entries) + 1


def test_an_instruct_run_is_scored_in_its_template(tmp_path):
    from engine.demo import make_demo_corpus

    corpus = make_demo_corpus("translate", tmp_path, size_bytes=20_000)
    train(tiny_config(corpus, tmp_path, model={"objective": "instruct", "block_size": 128},
                      train={"max_steps": 10, "eval_interval": 10}))
    pairs = [json.loads(line) for line in corpus.read_text().splitlines()[:4]]
    free = write_rows(tmp_path / "free.jsonl", [{"question": p["source"], "answer": p["target"]} for p in pairs])
    code, out, _ = fewshot(tmp_path / "run", "--task", free, "--shots", "0", "--json")
    assert code == 0 and json.loads(out)["kind"] == "exact"
    model, tokenizer, _ = load_for_inference(tmp_path / "run")
    prompt = build_prompts(read_task(free), tokenizer, [0], 4, 0, True, 128)[0][0]
    assert prompt.text == PROMPT_TEMPLATE.format(source=f"Question: {pairs[0]['source']}\nAnswer:")
    by_hand = tokenizer.encode(prompt.text)
    eos = tokenizer.token_id("<eos>")
    for _ in range(len(prompt.continuations[0]) + 2):
        by_hand.append(greedy_next(model, tokenizer, by_hand))
    written = by_hand[len(tokenizer.encode(prompt.text)):]
    written = written[: written.index(eos)] if eos in written else written
    assert greedy_answer(model, tokenizer, prompt, True) == tokenizer.decode(written).split("\n")[0].strip()


def test_the_demo_writes_a_task_file_per_rule_whose_eight_shot_prompts_fit_its_context(tmp_path, capsys):
    from engine.config import schema as config_mod

    assert main(["demo", "fewshot", "--out", str(tmp_path)]) == 0
    said = capsys.readouterr().out.splitlines()[0]  # what was written, the task files too
    assert said.endswith("run.toml (and beside them " + ", ".join(sorted(f"fewshot-{r}.jsonl" for r in RULES)) + ")")
    cfg = config_mod.load(tmp_path / "run.toml")
    for index, rule in enumerate(RULES):
        task = read_task(tmp_path / f"fewshot-{rule}.jsonl")
        assert len(task.rows) == 100 and all(r.gold == index and len(set(r.choices)) == 4 for r in task.rows)
        longest = max(len(context(task, i, 8, 0)) + 1 + len(task.rows[i].answer) for i in range(100))
        assert longest <= cfg.model.block_size  # a char tokenizer: a token a character
    corpus = (tmp_path / "fewshot.txt").read_text()
    assert corpus.startswith("Question: ") and "\nAnswer: " in corpus


@pytest.mark.slow
def test_lm_eval_scores_the_exported_run_as_the_engine_does(run, loaded, tmp_path):
    pytest.importorskip("lm_eval")
    import yaml
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    assert main(["export", str(run), "--out", str(tmp_path / "hf")]) == 0
    task_file = run.parent / "fewshot-shift.jsonl"
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "engine_fewshot.yaml").write_text(yaml.safe_dump({
        "task": "engine_fewshot", "dataset_path": "json", "test_split": "train", "output_type": "multiple_choice",
        "dataset_kwargs": {"data_files": str(task_file), "cache_dir": str(tmp_path / "datasets")},
        "doc_to_text": "Question: {{question}}\nAnswer:", "doc_to_target": "answer", "doc_to_choice": "choices",
        "metric_list": [{"metric": "acc"}, {"metric": "acc_norm"}]}))
    # a char tokenizer has no start or end token, which lm-eval wants as the context of an empty prompt (none here)
    newline = loaded[1].encode("\n")[0]
    out = simple_evaluate(model="hf", model_args={"pretrained": str(tmp_path / "hf"), "dtype": "float32",
                                                  "prefix_token_id": newline},
                          device="cpu", tasks=["engine_fewshot"], num_fewshot=0, batch_size=1, limit=40,
                          task_manager=TaskManager(include_path=str(tmp_path / "tasks")))
    theirs = out["results"]["engine_fewshot"]
    ours = evaluate_fewshot(*loaded, read_task(task_file), [0], seed=0, limit=40)[0]
    assert (theirs["acc,none"], theirs["acc_norm,none"]) == pytest.approx((ours.accuracy, ours.acc_norm))
    task = read_task(task_file)
    prompts = build_prompts(task, loaded[1], [0], 40, 0, False, 64)[0]
    for sample in out["samples"]["engine_fewshot"]:
        prompt = prompts[sample["doc_id"]]
        lls = [ll for ll, _ in sample["filtered_resps"]]
        assert lls == pytest.approx(loglikelihoods(loaded[0], prompt.context, prompt.continuations), abs=1e-3)
