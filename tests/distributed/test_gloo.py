"""Data-parallel training on CPU with the gloo backend: 2 processes equal 1 process with the same global
batch, rank 0 alone writes the run, and a run resumes on a different number of processes."""

import sys

import pytest
import torch

from engine.run.events import read_events
from tests.reliability.helpers import ROOT, env, losses, write_config

pytestmark = pytest.mark.slow


def torchrun(nproc: int, *args, timeout=900):
    import subprocess

    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
                           str(nproc), "-m", "engine", *map(str, args)], capture_output=True, text=True,
                          env=env(OMP_NUM_THREADS=1), timeout=timeout)


def test_two_processes_match_one_with_the_same_global_batch(tmp_path, tiny_text):
    two = write_config(tmp_path, tiny_text, "two", max_steps=12, batch_size=4, grad_accum=1)
    one = write_config(tmp_path, tiny_text, "one", max_steps=12, batch_size=4, grad_accum=2)
    r = torchrun(2, "train", two)
    assert r.returncode == 0, r.stderr[-2000:]
    r = torchrun(1, "train", one)
    assert r.returncode == 0, r.stderr[-2000:]
    a, b = losses(tmp_path / "two"), losses(tmp_path / "one")
    assert sorted(a) == list(range(1, 13))
    assert a == pytest.approx(b, rel=1e-4, abs=1e-5)
    started = [e for e in read_events(tmp_path / "two" / "events.jsonl") if e.type == "started"]
    assert len(started) == 1 and started[0]["world_size"] == 2  # rank 0 alone writes
    val_two = [e["val_loss"] for e in read_events(tmp_path / "two" / "events.jsonl") if e.type == "eval"]
    val_one = [e["val_loss"] for e in read_events(tmp_path / "one" / "events.jsonl") if e.type == "eval"]
    assert val_two == pytest.approx(val_one, rel=1e-4)


def test_a_two_process_run_resumes_on_one_process(tmp_path, tiny_text):
    cfg = write_config(tmp_path, tiny_text, "run", max_steps=10, batch_size=4)
    assert torchrun(2, "train", cfg).returncode == 0
    r = torchrun(1, "resume", tmp_path / "run", "--max-steps", 20)
    assert r.returncode == 0, r.stderr[-2000:]
    events = read_events(tmp_path / "run" / "events.jsonl")
    assert [e["world_size"] for e in events if e.type == "started"] == [2, 1]
    assert max(losses(tmp_path / "run")) == 20 and events[-1].type == "finished"


def test_the_engine_launches_its_own_processes_and_reports_once(tmp_path, tiny_text):
    import subprocess

    cfg = write_config(tmp_path, tiny_text, "self", max_steps=6, batch_size=4)
    r = subprocess.run([sys.executable, "-m", "engine", "train", str(cfg), "--set", "train.processes=2", "--events"],
                       capture_output=True, text=True, env=env(OMP_NUM_THREADS=1), timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    printed = [line for line in r.stdout.splitlines() if '"type": "started"' in line or '"type":"started"' in line]
    assert len(printed) == 1, "rank 0 alone reports"
    events = read_events(tmp_path / "self" / "events.jsonl")
    assert [e["world_size"] for e in events if e.type == "started"] == [2]
    assert events[-1].type == "finished" and max(losses(tmp_path / "self")) == 6


def test_naming_gpus_without_them_is_refused_in_words(tmp_path, tiny_text):
    import subprocess

    cfg = write_config(tmp_path, tiny_text, "gpus", max_steps=2)
    r = subprocess.run([sys.executable, "-m", "engine", "train", str(cfg), "--set", 'train.device="cuda:0,1"'],
                       capture_output=True, text=True, env=env(CUDA_VISIBLE_DEVICES=""), timeout=900)
    assert r.returncode == 2 and "CUDA GPU" in r.stderr and "Traceback" not in r.stderr


def test_sharded_training_matches_one_process_and_resumes_unsharded(tmp_path, tiny_text):
    fsdp = write_config(tmp_path, tiny_text, "fsdp", max_steps=8, batch_size=4, grad_accum=1, eval_interval=4,
                        sample_interval=0, sample_tokens=5)
    one = write_config(tmp_path, tiny_text, "one", max_steps=8, batch_size=4, grad_accum=2, eval_interval=4)
    r = torchrun(2, "train", fsdp, "--set", 'train.parallel="fsdp"')
    assert r.returncode == 0, r.stderr[-3000:]
    assert torchrun(1, "train", one).returncode == 0
    assert losses(tmp_path / "fsdp") == pytest.approx(losses(tmp_path / "one"), rel=1e-4, abs=1e-5)
    # the checkpoint is the full model, as an unsharded run writes it: it loads anywhere
    from engine.model.checkpoint import load_tensors
    from engine.run.folder import MODEL_FILE, OPTIMIZER_FILE

    for name in (MODEL_FILE, OPTIMIZER_FILE):
        a, b = (load_tensors(tmp_path / run / "checkpoints" / "step-000008" / name) for run in ("fsdp", "one"))
        assert sorted(a) == sorted(b) and all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)
    r = torchrun(2, "resume", tmp_path / "fsdp", "--max-steps", 12)  # loads into the shards
    assert r.returncode == 0, r.stderr[-3000:]
    assert torchrun(1, "resume", tmp_path / "one", "--max-steps", 12).returncode == 0
    assert losses(tmp_path / "fsdp") == pytest.approx(losses(tmp_path / "one"), rel=1e-4, abs=1e-5)
    assert max(losses(tmp_path / "fsdp")) == 12


@pytest.mark.parametrize("parallel", ["ddp", "fsdp"])
def test_no_communication_thread_outlives_a_run(tmp_path, tiny_text, parallel):
    """The root of "terminate called without an active exception" after a finished run: a process
    group's threads still alive when the interpreter shuts down. After training none may be left."""
    import json
    import subprocess

    cfg = write_config(tmp_path, tiny_text, parallel, max_steps=4, eval_interval=2)
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                        "-m", "tests.distributed.train_then_list_threads", str(cfg), "--set",
                        f'train.parallel="{parallel}"'], capture_output=True, text=True, env=env(OMP_NUM_THREADS=1),
                       timeout=900, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    reports = [json.loads(line) for line in r.stderr.splitlines() if line.startswith('{"exit"')]
    assert reports == [{"exit": 0, "threads": []}] * 2
