"""Timing several training processes in turns, so that machine drift hits them all alike.

On a shared 2-core machine the speed drifts by 30% from one minute to the next. Timing process A for
a minute and then process B compares two different machines. Here every contender is its own
process (its own allocator settings, threads and imports), all are started at once, and a
coordinator hands a turn token round: one process runs a block of steps while the others sleep on a
pipe, then the next takes its turn. Each process times its own steps, leaving out the first step after
each wake-up (cold caches, sleeping threads). The medians then come from interleaved seconds.

Coordinator:  results = run_in_turns({"name": [argv...], ...}, rounds=30)
Contender:    turn = Turn.from_env(); turn.wait() ... turn.done() ... turn.finish(step_times)
A step's median (BlockTimer) or a whole run's working seconds (RunTimer) are timed this way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

ENV = "BENCH_TURN_FDS"


class Turn:
    """A contender's end of the token pipes: wait for the token, hand it back, report its times."""

    def __init__(self, read_fd: int, write_fd: int):
        self.read_fd, self.write_fd = read_fd, write_fd

    @classmethod
    def from_env(cls) -> Turn | None:
        fds = os.environ.get(ENV)
        return cls(*map(int, fds.split(","))) if fds else None

    def wait(self) -> bool:
        """Block until it is this process's turn; False when the coordinator says stop."""
        return os.read(self.read_fd, 1) == b"g"

    def done(self) -> None:
        os.write(self.write_fd, b"d")

    def finish(self, result: dict) -> None:
        """Send the final figures (one JSON line) and close."""
        os.write(self.write_fd, b"r" + json.dumps(result).encode() + b"\n")
        os.close(self.write_fd)


class BlockTimer:
    """Times steps inside turns of `block` steps: call `tick()` once after every step."""

    def __init__(self, turn: Turn | None, block: int, warmup_blocks: int = 1):
        self.turn, self.block, self.warmup = turn, block, warmup_blocks
        self.times: list[float] = []
        self.count = 0
        self.last: float | None = None

    def start(self) -> None:
        """Wait for the first turn (setting up before it overlaps the others' set-up, untimed)."""
        if self.turn is not None:
            self.turn.wait()
        self.last = time.perf_counter()

    def tick(self) -> bool:
        """Record one step; at the end of a block hand over the turn. False once the coordinator stops."""
        now = time.perf_counter()
        if self.last is not None and self.count % self.block != 0 and self.count >= self.warmup * self.block:
            self.times.append(now - self.last)  # the first step of a block (after waking) is left out
        self.count += 1
        self.last = now
        if self.turn is not None and self.count % self.block == 0:
            self.turn.done()
            if not self.turn.wait():
                return False
            self.last = time.perf_counter()
        return True


class RunTimer:
    """Times a whole run in turns: the seconds a contender works from its first turn to its end, evaluations,
    samples and checkpoints included (BlockTimer's medians leave them out), its waits left out. Call `tick()`
    after every step and `end()` after the run: a run of `steps` steps takes steps // block turns, so the
    coordinator gives `rounds = steps // block - 1`."""

    def __init__(self, turn: Turn, block: int, steps: int):
        if steps % block:
            raise ValueError(f"{steps} steps are not a whole number of blocks of {block}")
        self.turn, self.block, self.steps = turn, block, steps
        self.busy = 0.0
        self.count = 0
        self.woke = self.last = 0.0
        self.step_times: list[float] = []
        """Each step's seconds, as BlockTimer's: the first after a wake-up left out (evaluations fall in some)."""

    def start(self) -> None:
        self.turn.wait()
        self.woke = self.last = time.perf_counter()

    def tick(self) -> None:
        now = time.perf_counter()
        if self.count % self.block:
            self.step_times.append(now - self.last)
        self.last = now
        self.count += 1
        if self.count % self.block == 0 and self.count < self.steps:
            self._hand_over()

    def end(self) -> float:
        """The seconds worked, once the coordinator has given its last turn."""
        self._hand_over()
        return self.busy

    def _hand_over(self) -> None:
        self.busy += time.perf_counter() - self.woke
        self.turn.done()
        self.turn.wait()
        self.woke = self.last = time.perf_counter()


def run_in_turns(contenders: dict[str, list[str]], rounds: int, env: dict[str, dict] | None = None) -> dict[str, dict]:
    """Start every contender (a Python argv, with extra environment variables from `env`), give each
    `rounds` turns in rotation; their reports."""
    procs, pipes = {}, {}
    for name, argv in contenders.items():
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        child_env = dict(os.environ, **(env or {}).get(name, {}), **{ENV: f"{to_child_r},{from_child_w}"})
        procs[name] = subprocess.Popen([sys.executable, *argv], env=child_env, pass_fds=(to_child_r, from_child_w),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(to_child_r)
        os.close(from_child_w)
        pipes[name] = (to_child_w, os.fdopen(from_child_r, "rb"))
    try:
        for r in range(rounds + 1):  # the first round is each contender's warm-up block
            names = list(contenders) if r % 2 == 0 else list(contenders)[::-1]
            for name in names:
                write, read = pipes[name]
                os.write(write, b"g")
                if read.read(1) != b"d":
                    raise RuntimeError(f"{name} failed: {procs[name].stderr.read().decode()[-2000:]}")
        results = {}
        for name, (write, read) in pipes.items():
            os.write(write, b"s")
            line = read.readline()
            if not line.startswith(b"r"):
                raise RuntimeError(f"{name} sent no result: {procs[name].stderr.read().decode()[-2000:]}")
            results[name] = json.loads(line[1:])
        return results
    finally:
        for name, proc in procs.items():
            os.close(pipes[name][0])
            pipes[name][1].close()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
