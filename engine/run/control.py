"""Control requests from outside the trainer: a small JSON file in the run folder, and signals.

The studio (or a user) writes `control.json` = {"seq": n, "action": "pause" | "resume" | "stop" |
"checkpoint"}; the trainer looks at its mtime between steps (one stat) and acts on a new seq once.
SIGTERM and SIGINT ask for a clean stop: checkpoint, then exit.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from engine import PROCESS_START
from engine.core.tomlio import write_atomic
from engine.run.folder import CONTROL_FILE

ACTIONS = ("pause", "resume", "stop", "checkpoint")


def request(run_dir: str | Path, action: str) -> None:
    """Ask the trainer of `run_dir` to pause, resume, stop or checkpoint now."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    path = Path(run_dir) / CONTROL_FILE
    try:
        seq = int(json.loads(path.read_text()).get("seq", 0)) + 1
    except (FileNotFoundError, ValueError):
        seq = 1
    write_atomic(path, json.dumps({"seq": seq, "action": action}))


class ControlChannel:
    def __init__(self, run_dir: Path | None, *, since: float | None = None):
        """Requests written before `since` (default: when this process started) are stale and ignored;
        later ones, even those written while the trainer was still starting, are acted on."""
        self.path = Path(run_dir) / CONTROL_FILE if run_dir else None
        self._mtime = 0.0
        self._seq = 0
        self.stop_requested = False
        try:
            stale = self.path is not None and self.path.stat().st_mtime < (since or PROCESS_START)
        except FileNotFoundError:
            stale = False
        if stale:
            self._seq = self._read()[0]

    def install_signal_handlers(self) -> None:
        def on_signal(signum, frame):
            if self.stop_requested:  # a second Ctrl-C: leave now
                raise KeyboardInterrupt
            self.stop_requested = True

        for s in (signal.SIGTERM, signal.SIGINT):
            try:
                signal.signal(s, on_signal)
            except ValueError:  # not the main thread (tests)
                pass

    def poll(self) -> str | None:
        """A new action, if one was requested since the last poll."""
        if self.stop_requested:
            return "stop"
        if self.path is None:
            return None
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return None
        if mtime == self._mtime:
            return None
        self._mtime = mtime
        seq, action = self._read()
        if seq > self._seq:
            self._seq = seq
            return action
        return None

    def wait_while_paused(self, on_checkpoint) -> tuple[str, float]:
        """Block until resume or stop is requested (checkpoints still honoured); returns the action
        and the seconds spent paused."""
        paused_at = time.monotonic()
        while True:
            time.sleep(0.1)
            action = self.poll()
            if action in ("resume", "stop"):
                return action, time.monotonic() - paused_at
            if action == "checkpoint":
                on_checkpoint()

    def _read(self) -> tuple[int, str | None]:
        if self.path is None:
            return 0, None
        try:
            d = json.loads(self.path.read_text())
            return int(d.get("seq", 0)), d.get("action")
        except (FileNotFoundError, ValueError, AttributeError):
            return 0, None
