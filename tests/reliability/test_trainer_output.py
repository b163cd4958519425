"""What the trainer says and how it goes on: a reader that goes away (`| head`) never stops training; a run whose
every checkpoint is damaged is not silently restarted over its history; a fallback checkpoint is not called the
best; a resumed run's throughput and time count its own session; a config suggestion keeps every rule."""

import shutil
import statistics
import subprocess
import sys

import pytest

from engine.config.rules import problems
from engine.config.schema import from_dict
from engine.model import checkpoint as ckpt
from engine.run.events import read_events
from engine.run.folder import best_checkpoint
from tests.reliability.helpers import ROOT, digest, engine, engine_here, env, refused, trained_run, write_config

HANG_GUARD = 600  # seconds: only a hung trainer reaches it


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One finished tiny run with checkpoints at steps 10 and 20, copied by the cases that change it."""
    return trained_run(tmp_path_factory.mktemp("runs"))


@pytest.fixture
def run(trained, tmp_path):
    shutil.copytree(trained, tmp_path / "run")
    return tmp_path / "run"


def truncate(path, keep=3000):
    path.write_bytes(path.read_bytes()[:keep])


@pytest.mark.parametrize("human", [False, True], ids=["events", "human"])
def test_a_reader_that_goes_away_never_stops_training(tmp_path, tiny_text, human):
    go = tmp_path / "go"  # the trainer waits at step 2 until the pipe is closed: its later lines meet no reader
    cfg = write_config(tmp_path, tiny_text, max_steps=20)
    p = subprocess.Popen([sys.executable, "-m", "engine", "train", cfg, *(["--human"] if human else [])],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT if human else subprocess.DEVNULL,
                         env=env(ENGINE_FAULT_WAIT_AT=f"2:{go}"), cwd=ROOT)
    assert p.stdout.readline()
    p.stdout.close()
    go.touch()
    assert p.wait(timeout=HANG_GUARD) == 0
    events = list(read_events(tmp_path / "run" / "events.jsonl"))
    assert events[-1].type == "finished" and events[-1].step == 20
    assert not [e for e in events if e.type == "error"]
    assert (tmp_path / "run" / "checkpoints" / "step-000020").is_dir()
    assert "finished at step 20" in (tmp_path / "run" / "train.log").read_text()


@pytest.mark.parametrize("extend", [[], ["--max-steps", "40"]], ids=["resume", "extend"])
def test_a_run_whose_every_checkpoint_is_damaged_is_refused_not_restarted(run, extend):
    if not extend:  # a run to resume: it stopped short of its steps
        toml = run / "run.toml"
        toml.write_text(toml.read_text().replace("max_steps = 20", "max_steps = 30"))
    for step in (10, 20):
        truncate(run / "checkpoints" / f"step-{step:06d}" / ckpt.MODEL_FILE)
    before = [e.to_json() for e in read_events(run / "events.jsonl")]
    error = refused("resume", run, *extend, expect="train into a new train.out_dir")
    assert "step-000010" in error and "step-000020" in error and "set aside as damaged-step-000020" in error
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["damaged-step-000010", "damaged-step-000020"]
    after = [e for e in read_events(run / "events.jsonl")]
    assert [e.to_json() for e in after[:len(before)]] == before  # its history is whole
    assert not [e for e in after[len(before):] if e.type in ("step", "eval", "checkpoint")]
    assert [e.get("kind") for e in after[len(before):] if e.type == "warning"].count("no_checkpoint") == 0


def test_a_run_killed_before_its_first_checkpoint_still_starts_at_zero(run):
    shutil.rmtree(run / "checkpoints")
    r = engine("resume", run, "--human")
    assert r.returncode == 0, r.stderr
    assert "no checkpoint to resume from: starting at 0" in r.stderr
    assert (run / "checkpoints" / "step-000020").is_dir()


def test_a_fallback_checkpoint_is_not_called_the_best(run):
    best = best_checkpoint(run)
    truncate(run / "checkpoints" / best / ckpt.MODEL_FILE)
    fallback = [c.name for c in ckpt.list_checkpoints(run) if c.name != best][-1]
    before = digest(run)
    r = engine_here("generate", run, "--prompt", "a", "--max-new-tokens", "3")
    assert r.returncode == 0, r.stderr
    using = next(ln for ln in r.stderr.splitlines() if ln.startswith("using checkpoint"))
    assert using.startswith(f"using checkpoint {fallback} ") and "the best by" not in using
    assert f"in place of the best one, {best}" in using
    assert digest(run) == before


def test_a_resumed_runs_throughput_and_time_count_its_own_session(run):
    r = engine("resume", run, "--max-steps", "120", "--human")
    assert r.returncode == 0, r.stderr
    events = list(read_events(run / "events.jsonl"))
    start = max(i for i, e in enumerate(events) if e.type == "started")
    session = events[start:]
    steps = [e for e in session if e.type == "step"]
    assert steps[0].step == 21
    tokens_per_step = 4 * 16  # batch_size x block_size
    # the session's own average, from the events' times (evaluations and checkpoints included: a lower bound
    # of its step throughput); a first figure measured over the wrong interval is many times above it
    average = tokens_per_step * len(steps) / max(steps[-1].time - session[0].time, 0.01)
    assert steps[0]["tokens_per_s"] < 20 * max(average, statistics.median(e["tokens_per_s"] for e in steps))
    assert steps[0]["tokens_per_s"] < 20 * average
    finished = session[-1]
    assert finished.type == "finished" and 0 < finished["session_elapsed"] < finished["elapsed"]
    line = next(ln for ln in r.stderr.splitlines() if ln.startswith("finished at step 120"))
    assert " this session (" in line and " in all, counting its set-up and any earlier session)" in line


@pytest.mark.parametrize("position, suggestion", [("rope", "try n_head = 4 or n_embd = 66"),
                                                  ("learned", "try n_head = 4 or n_embd = 63")])
def test_a_head_count_suggestion_keeps_every_rule(tiny_text, tmp_path, position, suggestion):
    cfg = write_config(tmp_path, tiny_text)
    r = engine_here("train", cfg, "--set", "model.n_head=3", "--set", "model.n_embd=64",
                    "--set", f"model.position={position}")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert suggestion in r.stderr
    base = {"data": {"path": str(tiny_text)}, "tokenizer": {"kind": "char"},
            "model": {"n_layer": 1, "n_head": 3, "n_embd": 64, "position": position}}
    for n_head, n_embd in ((4, 64), (3, int(suggestion.rsplit(" ", 1)[1]))):
        fixed = from_dict(base | {"model": base["model"] | {"n_head": n_head, "n_embd": n_embd}})
        assert not [p for p in problems(fixed) if "n_head" in p or "head size" in p], (n_head, n_embd)
    assert not (tmp_path / "run").exists()
