"""Launching, following and controlling trainer processes.

A trainer is `python -m engine train CONFIG --events` in its own process session (so closing the
studio need not end it), with stdout and stderr going to files in its run folder. The studio follows
the run folder's events.jsonl, which works the same for a run it launched, a run re-attached after a
restart, and a finished run. Control goes through the run folder's control file.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from engine.config.schema import RunConfig
from engine.launch.start import start_trainer
from engine.run.control import request
from engine.run.events import EventFollower, read_events
from engine.run.folder import EVENTS_FILE, STDERR_FILE, STDOUT_FILE
from engine.run.lock import lock_holder
from engine.runqueue.queue_file import QueueItem, slug

STOP_GRACE_S = 20.0


class TrainerClient(QObject):
    sig_events = Signal(object, object)
    """(run_dir, [Event]) new events of a followed run."""
    sig_process_ended = Signal(object, int, str)
    """(run_dir, exit code, a plain-words explanation) a trainer we launched has exited."""

    def __init__(self, store, *, poll_ms: int = 100):
        super().__init__()
        self.store = store
        self.procs: dict[Path, subprocess.Popen] = {}
        self.followers: dict[Path, tuple[EventFollower, EventFollower]] = {}
        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self._on_timer)
        self.timer.start()

    # ----- starting --------------------------------------------------------------------------------
    def launch(self, cfg: RunConfig) -> Path:
        """Write the config into the workspace and start training it; returns the run folder."""
        name = slug(cfg.name or "run")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = self.store.runs_dir / f"{name}-{stamp}"
        n = 2
        while run_dir.exists():
            run_dir = self.store.runs_dir / f"{name}-{stamp}-{n}"
            n += 1
        cfg = cfg.copy()
        cfg.train.out_dir = str(run_dir)
        if not cfg.data.cache_dir:
            cfg.data.cache_dir = str(self.store.cache_dir)
        cfg_path = self.store.configs_dir / f"{run_dir.name}.toml"
        cfg_path.parent.mkdir(parents=True, exist_ok=True)
        cfg_path.write_text(cfg.to_toml(), encoding="utf-8")
        self._start(run_dir, ["train", str(cfg_path)])
        return run_dir

    def resume(self, run_dir: Path, max_steps: int | None = None) -> None:
        args = ["resume", str(run_dir)] + (["--max-steps", str(max_steps)] if max_steps else [])
        self._start(Path(run_dir), args)

    def start_queued(self, item: QueueItem, env: dict | None = None) -> Path:
        """Start a run the queue hands over (its config and run folder were written when it was queued)."""
        run_dir = Path(item.run_dir)
        self._start(run_dir, ["train", item.config], env)
        return run_dir

    def _start(self, run_dir: Path, args: list[str], env: dict | None = None) -> None:
        proc = start_trainer(run_dir, args, env=env)
        self.procs[run_dir] = proc
        self.follow(run_dir, from_start=False)
        self.store.set_current(run_dir)

    # ----- following -------------------------------------------------------------------------------
    def follow(self, run_dir: Path, *, from_start: bool = True) -> None:
        """Follow a run's events; from_start=False skips what the store already read from disk."""
        run_dir = Path(run_dir)
        if run_dir in self.followers:
            return
        events = EventFollower(run_dir / EVENTS_FILE)
        stdout = EventFollower(run_dir / STDOUT_FILE)
        if not from_start or run_dir in self.store.runs:
            events.skip_to_end()  # the store has these already
        stdout.skip_to_end()
        self.followers[run_dir] = (events, stdout)

    def is_alive(self, run_dir: Path) -> bool:
        proc = self.procs.get(Path(run_dir))
        if proc is not None:
            return proc.poll() is None
        return lock_holder(Path(run_dir)) is not None  # a trainer started elsewhere holds the run's lock

    def _on_timer(self) -> None:
        for run_dir, (events, stdout) in list(self.followers.items()):
            new = events.poll()
            early = [e for e in stdout.poll() if e.type == "prepare" or (e.type == "error" and not
                                                                        (run_dir / EVENTS_FILE).exists())]
            if new or early:
                self.sig_events.emit(run_dir, early + new)
        for run_dir, proc in list(self.procs.items()):
            code = proc.poll()
            if code is None:
                continue
            del self.procs[run_dir]
            rest = self.followers[run_dir][0].poll() if run_dir in self.followers else []
            if rest:
                self.sig_events.emit(run_dir, rest)
            self.sig_process_ended.emit(run_dir, code, explain_exit(run_dir, code))

    # ----- control ---------------------------------------------------------------------------------
    def control(self, run_dir: Path, action: str) -> None:
        request(run_dir, action)

    def stop(self, run_dir: Path) -> None:
        """Ask for a clean stop (checkpoint, then exit); kill only if it has not ended after a grace time."""
        run_dir = Path(run_dir)
        request(run_dir, "stop")
        proc = self.procs.get(run_dir)
        if proc is not None:
            QTimer.singleShot(int(STOP_GRACE_S * 1000), lambda: proc.poll() is None and proc.kill())

    def running(self) -> list[Path]:
        return [d for d, p in self.procs.items() if p.poll() is None]


def explain_exit(run_dir: Path, code: int) -> str:
    """What happened to a trainer, in plain words, from its exit code and its last words."""
    if code == 0:
        return ""
    last = _last_error(run_dir)
    if code < 0:
        sig = -code
        what = {9: "was killed (SIGKILL; often the system running out of memory)", 15: "was terminated",
                11: "crashed (segmentation fault)", 6: "aborted"}.get(sig, f"ended by signal {sig}")
        return f"The trainer {what}. The run folder is intact: resume continues from the last checkpoint."
    return last or f"The trainer exited with status {code}. See stderr.log in the run folder."


def _last_error(run_dir: Path) -> str:
    for name in (EVENTS_FILE, STDOUT_FILE):
        errors = [e for e in read_events(run_dir / name) if e.type == "error"]
        if errors:
            return errors[-1].get("message", "")
    try:
        lines = [ln for ln in (run_dir / STDERR_FILE).read_text(errors="replace").splitlines() if ln.strip()]
        return lines[-1].removeprefix("error: ") if lines else ""
    except OSError:
        return ""


