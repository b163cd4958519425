"""Ctrl-C (and SIGTERM) on a foreground command that runs trainers in their own session (`sweep`, `queue run`):
the trainer is asked to stop at a checkpoint and ends, the run is left stopped and resumable, the rest of the
queue waits, and the command says so in one line and exits 130 without a traceback."""

import os
import signal
import subprocess
import sys

import pytest

from engine.run.events import read_events
from engine.run.folder import checkpoints
from engine.run.runinfo import summarize
from engine.runqueue.foreground import StopSignals, stop_trainer
from engine.runqueue.queue_file import RunQueue
from tests.conftest import pangram_text
from tests.reliability.helpers import ROOT, env, last_line, wait_for, write_config


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(pangram_text(80))
    return path


def launch(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "engine", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env(), cwd=ROOT)


def stepping(run_dir) -> bool:
    events = run_dir / "events.jsonl"
    return events.is_file() and any(e.type == "step" for e in read_events(events))


def trainer_pid(run_dir) -> int:
    from engine.run.lock import lock_holder

    holder = lock_holder(run_dir)
    assert holder is not None, "no live trainer holds the run"
    return int(holder["pid"])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def interrupt_while_training(proc: subprocess.Popen, workspace, signum=signal.SIGINT):
    """Wait until the first queued run trains, interrupt the command; (run folder, trainer pid, rc, out, err)."""
    runs = workspace / "runs"
    wait_for(lambda: proc.poll() is not None or (runs.is_dir() and any(stepping(d) for d in runs.iterdir())),
             timeout=600)
    assert proc.poll() is None, proc.communicate()
    run_dir = next(d for d in runs.iterdir() if stepping(d))
    pid = trainer_pid(run_dir)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=600)
    return run_dir, pid, proc.returncode, out, err


def check_stopped(run_dir, pid, rc, out, err):
    assert rc == 130, (rc, err[-2000:])
    assert "Traceback" not in out + err
    wait_for(lambda: not alive(pid), timeout=600)  # the trainer ended (it has no parent to reap it here)
    saved = checkpoints(run_dir)
    assert saved, "the stopped trainer left no checkpoint"
    line = last_line(err)
    assert line.startswith("stopped ") and f"at step {saved[-1][1]} (checkpoint {saved[-1][0]})" in line, line
    assert f"python -m engine resume {run_dir}" in line
    s = summarize(run_dir)
    assert s.status == "stopped" and s.resumable and not s.live


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_stops_a_sweeps_trainer_at_a_checkpoint(tmp_path, corpus, signum):
    write_config(tmp_path, corpus, name="base", max_steps=100_000, eval_interval=1000)
    sweep = tmp_path / "s.toml"
    sweep.write_text('name = "lr"\nbase = "base.toml"\n[fields]\n"train.lr" = [1e-3, 3e-3]\n')
    workspace = tmp_path / "ws"
    proc = launch("sweep", sweep, "--workspace", workspace)
    run_dir, pid, rc, out, err = interrupt_while_training(proc, workspace, signum)
    check_stopped(run_dir, pid, rc, out, err)
    assert "1 more run(s) wait in the queue" in last_line(err)
    waiting = RunQueue(workspace).items()  # the other point still waits; the stopped one is a resumable run
    assert [i.name for i in waiting] == ["lr-001"] and run_dir.name.startswith("lr-000")


def test_ctrl_c_stops_queue_run(tmp_path, corpus):
    workspace = tmp_path / "ws"
    config = write_config(tmp_path, corpus, max_steps=100_000, eval_interval=1000)
    assert subprocess.run([sys.executable, "-m", "engine", "queue", "add", str(config), "--workspace",
                           str(workspace)], env=env(), cwd=ROOT, capture_output=True).returncode == 0
    proc = launch("queue", "run", "--workspace", workspace)
    run_dir, pid, rc, out, err = interrupt_while_training(proc, workspace)
    check_stopped(run_dir, pid, rc, out, err)
    assert RunQueue(workspace).items() == []


def child(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code])


def test_a_trainer_that_ignores_the_stop_request_is_terminated(tmp_path):
    proc = child("import signal\nsignal.pause()")  # exits on SIGTERM, never reads control.json
    assert stop_trainer(proc, tmp_path, StopSignals(), stop_wait=0, term_wait=60) == "terminated"
    assert proc.returncode == -signal.SIGTERM and (tmp_path / "control.json").is_file()


def test_a_trainer_that_ignores_sigterm_is_killed(tmp_path):
    ready = tmp_path / "ready"
    proc = child(f"import signal, pathlib\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                 f"pathlib.Path({str(ready)!r}).touch()\nwhile True: signal.pause()")
    wait_for(ready.exists, timeout=600)
    assert stop_trainer(proc, tmp_path, StopSignals(), stop_wait=0, term_wait=0) == "killed"
    assert proc.returncode == -signal.SIGKILL


def test_a_run_stopped_before_it_trained_goes_back_to_the_head_of_the_queue(tmp_path, corpus):
    from engine.config import schema as config_mod

    queue = RunQueue(tmp_path / "ws")
    cfg = config_mod.load(write_config(tmp_path, corpus))
    first, second = queue.add(cfg), queue.add(cfg)
    popped = queue.pop()
    queue.put_back(popped)
    queue.put_back(popped)  # once only
    assert [i.id for i in queue.items()] == [first.id, second.id]
