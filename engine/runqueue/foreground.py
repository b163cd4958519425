"""Stopping a trainer that a foreground command (`sweep`, `queue run`) started.

The trainer runs in its own session (so that it outlives a closed studio), which also keeps the terminal's
Ctrl-C from reaching it. The command therefore catches SIGINT and SIGTERM itself and asks the trainer to
stop through its run folder's control file (a checkpoint, then exit); a trainer that does not end in time
is sent SIGTERM (which also stops it at a checkpoint), then killed. A second Ctrl-C skips the wait.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path

from engine.run.control import request

STOP_WAIT_S = 300.0
"""How long a trainer asked to stop may take to write its checkpoint before it is sent SIGTERM."""
TERM_WAIT_S = 60.0
"""How long it may take after SIGTERM before it is killed."""


class StopSignals:
    """While entered, SIGINT and SIGTERM are noted instead of raising: `asked` says one came (and which)."""

    def __init__(self):
        self.signum: int | None = None
        self.hurry = threading.Event()
        """Set by every signal: a wait in `stop_trainer` ends early on it."""
        self._old: dict = {}

    @property
    def asked(self) -> bool:
        return self.signum is not None

    def _on_signal(self, signum, frame) -> None:
        if self.signum is None:
            self.signum = signum
        self.hurry.set()

    def __enter__(self) -> StopSignals:
        for s in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[s] = signal.signal(s, self._on_signal)
            except ValueError:  # not the main thread (tests driving main() from a thread)
                pass
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._old.items():
            signal.signal(s, handler)
        self._old.clear()

    def wait(self, proc: subprocess.Popen, seconds: float | None, poll: float = 0.2) -> bool:
        """Wait for `proc` to end, up to `seconds` (None: as long as it runs) or until a signal comes;
        True when it has ended."""
        self.hurry.clear()
        waited = 0.0
        while proc.poll() is None:
            if self.hurry.is_set() or (seconds is not None and waited >= seconds):
                return False
            self.hurry.wait(poll)
            waited += poll
        return True


def stop_trainer(proc: subprocess.Popen, run_dir: str | Path, signals: StopSignals, *,
                 stop_wait: float = STOP_WAIT_S, term_wait: float = TERM_WAIT_S) -> str:
    """Ask the trainer `proc` of `run_dir` to stop at a checkpoint and wait for it: 'stopped' when it did,
    'terminated' when it needed SIGTERM, 'killed' when it needed SIGKILL."""
    if proc.poll() is not None:
        return "stopped"
    try:
        request(run_dir, "stop")
    except OSError:  # the run folder cannot be written: the signal asks the same
        proc.terminate()
    if signals.wait(proc, stop_wait):
        return "stopped"
    if proc.poll() is None:
        proc.terminate()  # the trainer's SIGTERM handler stops it at a checkpoint too
    if signals.wait(proc, term_wait):
        return "terminated"
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    return "killed"
