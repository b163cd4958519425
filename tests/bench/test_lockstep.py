"""Timing in turns (bench/lockstep.py): a whole run's RunTimer hands the turn over after each block but the last,
counts the seconds it worked and not those it waited, and keeps its steps' times; `overhead.py --views` runs its
three contenders that way end to end (a smoke test: tiny runs, no cost judged)."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"

spec = importlib.util.spec_from_file_location("bench_lockstep", ROOT / "bench" / "lockstep.py")
lockstep = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lockstep)


class FakeTurn:
    """The coordinator's side as a contender sees it: each wait takes 100 s of the fake clock."""

    def __init__(self, clock):
        self.clock, self.calls = clock, []

    def wait(self) -> bool:
        self.calls.append("wait")
        self.clock.now += 100.0
        return True

    def done(self) -> None:
        self.calls.append("done")


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_whole_run_is_timed_in_its_turns_without_the_waits(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(lockstep.time, "perf_counter", clock)
    turn = FakeTurn(clock)
    timer = lockstep.RunTimer(turn, block=2, steps=6)
    timer.start()
    for _ in range(6):
        clock.now += 1.0  # a step
        timer.tick()
    clock.now += 5.0  # the final evaluation, after the last step
    assert timer.end() == 11.0  # six steps and the evaluation; none of the four waits
    assert turn.calls == ["wait", "done", "wait", "done", "wait", "done", "wait"]  # three turns: 6 steps / 2
    assert timer.step_times == [1.0, 1.0, 1.0]  # the first step after each wake-up left out
    with pytest.raises(ValueError, match="not a whole number of blocks"):
        lockstep.RunTimer(turn, block=4, steps=6)


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.is_file(), reason=f"needs Tiny Shakespeare at {CORPUS}")
def test_the_views_contenders_train_in_turns_end_to_end(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "overhead.py"), "--views", "--steps", "20", "--block",
                          "10", "--threads", "1", "--corpus", str(CORPUS), "--set", "train.eval_interval=10",
                          "--set", "train.eval_batches=1", "--set", "train.sample_interval=-1"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "TMPDIR": str(tmp_path)})  # its runs' folders land in tmp_path
    assert out.returncode == 0, out.stderr[-2000:]
    line = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(line["busy_s"]) == {"without", "default", "concept"} and all(v > 0 for v in line["busy_s"].values())
    assert line["evaluation_s"]["concept"] > 0 and line["steps"] == 20
