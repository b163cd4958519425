"""The Task interface: a task is built from a TaskContext alone, with no trainer anywhere, serves batches and
measures a model; every hook the trainer calls has a default on the Task base, so nothing probes a task."""

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import engine.train
from engine.demo import make_demo_corpus
from engine.model.build import build_model, gpt_config
from engine.train.evaluate import evaluate_checkpoint
from engine.train.make_task import make_task
from engine.train.probe import Probes
from engine.train.task_context import TaskContext
from tests.conftest import tiny_config


def context(cfg, budget_calls: list, events: list) -> TaskContext:
    """A single-process context that records what the task reports and the budget it asks for."""
    ctx = TaskContext.single_process(cfg, cfg.arch)
    ctx.events.listeners.append(events.append)
    ctx.choose_budget = lambda vocab, corpus: budget_calls.append((vocab, corpus))
    return ctx


def tiny_model(cfg, vocab_size: int, num_labels: int = 0):
    torch.manual_seed(0)
    return build_model(gpt_config(cfg.model, vocab_size, arch=cfg.arch, num_labels=num_labels)).eval()


def test_a_language_models_task_is_built_from_a_context_and_measures_a_model(tmp_path, tiny_text):
    cfg = tiny_config(tiny_text, tmp_path)
    budget_calls, events = [], []
    task = make_task(context(cfg, budget_calls, events))
    assert task.corpus is not None and task.tokenizer is task.corpus.tokenizer  # what it made, held by the task
    assert budget_calls == [(task.tokenizer.vocab_size, task.corpus.stats)]  # asked once the corpus is known
    assert [e.fields["stage"] for e in events if e.type == "prepare"] == []  # a checkpoint's: no progress said
    batch = task.batch(0, 0)
    assert batch["idx"].shape == batch["targets"].shape == (4, 16)
    assert np.array_equal(batch["idx"], task.batch(0, 0)["idx"])  # a pure function of the step

    model = tiny_model(cfg, task.tokenizer.vocab_size)
    task.configure(model)  # the defaults: nothing to set, no labels, no test split held out
    assert task.labels is None and task.evaluate_test(model) is None
    metrics = task.evaluate(model, "val")
    assert 0 < metrics["loss"] < 10 and metrics["ppl"] == pytest.approx(math.exp(metrics["loss"]))
    assert task.evaluate(model, "val") == metrics  # fixed rows
    assert evaluate_checkpoint(cfg, model, task.tokenizer, batches=cfg.train.eval_batches) == metrics


def test_the_default_attention_hook_records_the_probe_text_for_the_main_process(tmp_path, tiny_text):
    cfg = tiny_config(tiny_text, tmp_path, train={"probe_text": "the quick brown fox"})
    task = make_task(TaskContext.single_process(cfg, cfg.arch))
    model = tiny_model(cfg, task.tokenizer.vocab_size)
    run = tmp_path / "run"
    run.mkdir()
    probes = Probes(task.tokenizer, run, resume=False, seed=0)
    assert task.record_attention(model, 3, probes, main=False, sharded=False) is None  # joins, writes nothing
    path = task.record_attention(model, 3, probes, main=True, sharded=False)
    assert path == run / "attention" / "step-000003.npy"
    maps = np.load(path)
    assert maps.shape[-1] == model.config.block_size < len("the quick brown fox")  # cut to the model's context
    assert (run / "embeddings" / "step-000003.npy").is_file()  # the embedding map beside it, unsharded


def test_a_classifiers_task_names_its_labels_and_scores_every_validation_example(tmp_path):
    data = make_demo_corpus("balanced", tmp_path / "data", size_bytes=12_000)
    cfg = tiny_config(data, tmp_path, model={"objective": "classify", "block_size": 32},
                      data={"test_fraction": 0.2})
    budget_calls = []
    task = make_task(context(cfg, budget_calls, []))
    assert task.labels == ["balanced", "unbalanced"] and task.corpus is None
    assert budget_calls == [(task.tokenizer.vocab_size, None)]  # no token stream: the budget keeps to the rest
    assert task.batch(0, 0)["targets"].shape == (4,)
    model = tiny_model(cfg, task.tokenizer.vocab_size, num_labels=2)
    metrics = task.evaluate(model, "val")
    assert np.array(metrics["confusion"]).sum() == len(task.data.val) and 0 <= metrics["accuracy"] <= 1
    test = task.evaluate_test(model)
    assert np.array(test["confusion"]).sum() == len(task.data.test) > 0


def test_the_trainer_calls_task_hooks_without_probing_and_tasks_never_hold_the_trainer():
    folder = Path(engine.train.__file__).parent
    sources = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.py")}
    probing = re.compile(r"(hasattr|getattr)\((self\.|trainer\.)?task\b")
    assert [name for name, text in sources.items() if probing.search(text)] == []
    writes = re.compile(r"\btrainer\.\w+\s*=[^=]")  # a task or its maker writing the trainer's fields
    assert [name for name, text in sources.items() if writes.search(text)] == []
    for name in ("tasks.py", "pair_tasks.py", "make_task.py", "evaluate.py"):
        assert "trainer" not in re.sub(r'""".*?"""|#.*', "", sources[name], flags=re.S), name
