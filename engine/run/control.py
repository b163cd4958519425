"""Control requests from outside the trainer: a small JSON file in the run folder, and signals.

The studio (or a user) writes `control.json` = {"seq": n, "action": "pause" | "resume" | "stop" |
"checkpoint"}; the trainer looks at its mtime between steps (one stat) and acts on a new seq once.
Interventions (engine/config/interventions.py) queue in the same file's "interventions" list, each with its
own seq and time, so a pause written just after one does not overwrite it; the trainer applies each once.
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
QUEUED = 20
"""Interventions kept in the file: the trainer takes each within a step, so only the latest few matter."""


def request(run_dir: str | Path, action: str) -> None:
    """Ask the trainer of `run_dir` to pause, resume, stop or checkpoint now."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    path = Path(run_dir) / CONTROL_FILE
    held = _held(path)
    write_atomic(path, json.dumps({**held, "seq": int(held.get("seq", 0)) + 1, "action": action}))


def request_intervention(run_dir: str | Path, action: str, target: str) -> None:
    """Ask the trainer of `run_dir` to freeze, zero or re-initialise `target` before its next step."""
    path = Path(run_dir) / CONTROL_FILE
    held = _held(path)
    queue = [e for e in held.get("interventions", []) if isinstance(e, dict)][-QUEUED + 1:]
    seq = max((int(e.get("seq", 0)) for e in queue), default=0) + 1
    queue.append({"seq": seq, "action": action, "target": target, "time": time.time()})
    write_atomic(path, json.dumps({**held, "interventions": queue}))


def _held(path: Path) -> dict:
    try:
        d = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return d if isinstance(d, dict) else {}


class ControlChannel:
    def __init__(self, run_dir: Path | None, *, since: float | None = None):
        """Requests written before `since` (default: when this process started) are stale and ignored;
        later ones, even those written while the trainer was still starting, are acted on."""
        self.path = Path(run_dir) / CONTROL_FILE if run_dir else None
        self._mtime = 0.0
        self._seq = 0
        self._since = since or PROCESS_START
        self._intervention_seq = 0
        self._interventions: list[dict] = []  # asked for and not yet taken
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
        self._queue_interventions()
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

    def take_interventions(self) -> list[dict]:
        """The interventions asked for since the last call ({action, target}), each once; those written before
        this session are stale."""
        taken, self._interventions = self._interventions, []
        return taken

    def _queue_interventions(self) -> None:
        for e in _held(self.path).get("interventions", []):
            if not isinstance(e, dict) or not isinstance(e.get("seq"), int) or e["seq"] <= self._intervention_seq:
                continue
            self._intervention_seq = e["seq"]
            if float(e.get("time", 0)) >= self._since:
                self._interventions.append({"action": e.get("action"), "target": e.get("target")})

    def _read(self) -> tuple[int, str | None]:
        if self.path is None:
            return 0, None
        try:
            d = json.loads(self.path.read_text())
            return int(d.get("seq", 0)), d.get("action")
        except (FileNotFoundError, ValueError, AttributeError):
            return 0, None
