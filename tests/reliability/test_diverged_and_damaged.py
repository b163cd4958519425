"""Diverged runs and damaged checkpoints: a run whose weights or losses stay NaN/inf ends in one sentence
naming its last good checkpoint and never saves a non-finite one; generate, eval and export pass over a
damaged or non-finite checkpoint to the newest good one, saying so, or refuse in one line; retention
never keeps a bad checkpoint in a good one's place."""

import shutil

import pytest
import tomli_w
from safetensors.torch import load_file, save_file

from engine.core.tomlio import parse_toml
from engine.model import checkpoint as ckpt
from engine.run.events import read_events
from engine.run.folder import best_checkpoint
from tests.reliability.helpers import engine, engine_here, last_line, trained_run, write_config


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One finished tiny run with checkpoints at steps 10, 20 and 30, copied by the cases that change it."""
    return trained_run(tmp_path_factory.mktemp("runs"), 30)


@pytest.fixture
def run(trained, tmp_path):
    shutil.copytree(trained, tmp_path / "run")
    return tmp_path / "run"


def step_dir(run, step):
    return run / "checkpoints" / f"step-{step:06d}"


def truncate(path, keep=3000):
    path.write_bytes(path.read_bytes()[:keep])


def rewrite_weights(folder, change):
    f = folder / ckpt.MODEL_FILE
    save_file({k: change(v) for k, v in load_file(f).items()}, f, metadata={"format": "attention-studio"})


def edit_config(run, **train):
    cfg = parse_toml((run / "run.toml").read_text())
    cfg["train"].update(train)
    (run / "run.toml").write_text(tomli_w.dumps(cfg))


def used(r):
    """The checkpoint a command said it used."""
    return r.stderr.split("using checkpoint ")[1].split()[0]


def no_traceback(*texts):
    assert all("Traceback" not in t for t in texts)


def test_a_run_that_diverges_at_once_ends_in_one_sentence_and_saves_nothing(tmp_path, tiny_text):
    cfg = write_config(tmp_path, tiny_text, max_steps=30, eval_interval=3, sample_interval=0)
    r = engine("train", cfg, "--set", "train.lr=1e9")
    assert r.returncode == 3
    line = last_line(r.stderr)
    assert line.startswith("error: the run diverged:") and "lower train.lr (now 1e+09)" in line, line
    run = tmp_path / "run"
    log = (run / "train.log").read_text()
    no_traceback(r.stderr, log)
    assert "the run diverged" in log.splitlines()[-1]
    assert read_events(run / "events.jsonl")[-1]["kind"] == "diverged"
    assert ckpt.list_checkpoints(run) == []  # a NaN model is never written, so never the best


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_a_run_that_diverges_later_names_its_last_good_checkpoint(tmp_path, tiny_text):
    cfg = write_config(tmp_path, tiny_text, max_steps=30, target_loss=10.0)  # stops at its first evaluation
    assert engine("train", cfg).returncode == 0
    run = tmp_path / "run"
    edit_config(run, lr=1e9, target_loss=0.0)
    r = engine("resume", run)
    assert r.returncode == 3
    line = last_line(r.stderr)
    assert "the run diverged" in line and "the last good checkpoint is step-000010" in line, line
    no_traceback(r.stderr, (run / "train.log").read_text())
    assert [c.step for c in ckpt.list_checkpoints(run)] == [10]
    g = engine_here("generate", run, "--prompt", "a", "--max-new-tokens", "3")
    assert g.returncode == 0 and used(g) == "step-000010"


@pytest.mark.parametrize("command", [["generate", "--prompt", "a", "--max-new-tokens", "3"], ["eval", "--batches", "2"],
                                     ["export", "--out", "{tmp}/hf"]])
def test_a_truncated_best_checkpoint_falls_back_to_the_newest_good_one(run, tmp_path, command):
    best = best_checkpoint(run)
    truncate(run / "checkpoints" / best / ckpt.MODEL_FILE)
    fallback = [c.name for c in ckpt.list_checkpoints(run) if c.name != best][-1]
    r = engine_here(command[0], run, *[a.format(tmp=tmp_path) for a in command[1:]])
    assert r.returncode == 0, r.stderr
    no_traceback(r.stderr, r.stdout)
    warning = next(ln for ln in r.stderr.splitlines() if ln.startswith("warning:"))
    assert f"checkpoint {best} cannot be used" in warning and f"using {fallback}, the newest good one" in warning
    assert used(r) == fallback


def test_a_damaged_named_checkpoint_is_refused_naming_one_that_works(run):
    truncate(step_dir(run, 30) / ckpt.MODEL_FILE)
    r = engine_here("generate", run, "--checkpoint", "step-000030", "--prompt", "a")
    assert r.returncode == 2
    no_traceback(r.stderr)
    line = last_line(r.stderr)
    assert line.startswith("error: ") and "corrupt or truncated" in line and "--checkpoint step-000020" in line


def test_non_finite_weights_are_never_loaded_evaluated_or_exported(run, tmp_path):
    rewrite_weights(step_dir(run, 30), lambda t: t * float("nan"))
    g = engine_here("generate", run, "--checkpoint", "latest", "--prompt", "a", "--max-new-tokens", "3")
    assert g.returncode == 0 and used(g) == "step-000020" and "not finite (NaN or inf)" in g.stderr
    for command in (["eval"], ["export", "--out", tmp_path / "hf"]):
        r = engine_here(command[0], run, "--checkpoint", "step-000030", *command[1:])
        assert r.returncode == 2 and "not finite (NaN or inf)" in last_line(r.stderr)
        no_traceback(r.stderr, r.stdout)
    assert not (tmp_path / "hf").exists()
    for step in (10, 20):
        rewrite_weights(step_dir(run, step), lambda t: t * float("inf"))
    r = engine_here("export", run, "--out", tmp_path / "hf")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "no other checkpoint of run is good either (step-000020, step-000010)" in last_line(r.stderr)
    assert not (tmp_path / "hf").exists()


def test_finite_weights_that_overflow_to_a_nan_loss_are_not_scored(run):
    rewrite_weights(step_dir(run, 30), lambda t: t * 1e30)
    r = engine_here("eval", run, "--checkpoint", "step-000030", "--batches", "2")
    assert r.returncode == 2 and "the run had diverged when it was saved" in last_line(r.stderr)


def test_retention_never_keeps_a_damaged_checkpoint_in_a_good_ones_place(run):
    truncate(step_dir(run, 30) / ckpt.OPTIMIZER_FILE)
    edit_config(run, keep_last=2, eval_interval=5, target_loss=10.0)  # the resumed run stops at step 25
    r = engine("resume", run, "--max-steps", 40)
    assert r.returncode == 0, r.stderr
    events = read_events(run / "events.jsonl")
    assert [e for e in events if e.type == "started"][-1]["resumed_from"] == "step-000020"
    assert any(e.type == "warning" and "skipped step-000030" in e["message"] and "set aside as damaged-step-000030"
               in e["message"] for e in events)
    kept = [c.step for c in ckpt.list_checkpoints(run)]
    assert kept[-2:] == [20, 25] and 30 not in kept
    assert all(ckpt.damage(c.path) is None for c in ckpt.list_checkpoints(run))
    assert (run / "checkpoints" / "damaged-step-000030" / ckpt.META_FILE).is_file()  # set aside, not deleted


def test_pruning_counts_only_whole_checkpoints(run):
    truncate(step_dir(run, 30) / ckpt.MODEL_FILE)
    aside = ckpt.prune_checkpoints(run, keep_last=2, keep=set())
    assert len(aside) == 1 and aside[0].startswith("step-000030 (its model.safetensors is missing, truncated")
    assert [c.step for c in ckpt.list_checkpoints(run)] == [10, 20]
    assert (run / "checkpoints" / "damaged-step-000030").is_dir()
