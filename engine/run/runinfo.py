"""What a run folder says about its run, read without torch: config, status, best loss, duration.

Status comes from the event history and the lock: running (a live process holds the lock; paused when
its last status event says so), finished, stopped (by the user; resumable), failed (an error event, or a
launch refused before the run began), interrupted (no end event and no live process: killed or crashed;
resumable from its last checkpoint).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from engine.config import schema as config_mod
from engine.core.text import engine_command
from engine.run.events import Event, read_events
from engine.run.folder import EVENTS_FILE, RUN_FILE, STDOUT_FILE, checkpoints
from engine.run.lock import lock_holder


@dataclass
class RunSummary:
    path: Path
    name: str
    status: str
    config: config_mod.RunConfig | None
    step: int = 0
    max_steps: int = 0
    best_val_loss: float | None = None
    last_val_loss: float | None = None
    """The newest evaluation's validation loss (a sweep compares its points by it)."""
    accuracy: float | None = None
    """The newest validation accuracy (classifiers, masked LMs)."""
    macro_f1: float | None = None
    test: dict | None = None
    """The test split's metrics, scored once at the end (runs that hold one out)."""
    last_loss: float | None = None
    started: float | None = None
    duration: float = 0.0
    n_params: int | None = None
    message: str = ""
    checkpoints: list[str] = field(default_factory=list)

    @property
    def live(self) -> bool:
        """A trainer process has this run now (training or paused)."""
        return self.status in ("running", "paused")

    @property
    def resumable(self) -> bool:
        return self.status in ("interrupted", "stopped", "failed", "finished") and bool(self.checkpoints)


def is_run_dir(path: Path) -> bool:
    """A run's folder: its config, or the launch log of a trainer started for it (one that may have failed)."""
    return (Path(path) / RUN_FILE).is_file() or (Path(path) / STDOUT_FILE).is_file()


def read_run_config(run_dir: Path) -> config_mod.RunConfig:
    return config_mod.load(Path(run_dir) / RUN_FILE)


def occupied(run_dir: Path) -> str:
    """Why a new run may not start in `run_dir`, which holds one, and what to do instead: a finished run is trained
    longer by steps (`resume` refuses it otherwise), an unfinished one continued."""
    if summarize(run_dir).status == "finished":
        return (f"{run_dir} already holds a finished run: choose another train.out_dir, or train that one longer "
                f"with `{engine_command()} resume {run_dir} --max-steps N`")
    return f"{run_dir} already holds a run: continue it with `{engine_command()} resume {run_dir}` or choose another " \
           f"train.out_dir"


def summarize(run_dir: str | Path, events: list[Event] | None = None) -> RunSummary:
    run_dir = Path(run_dir)
    try:
        cfg = read_run_config(run_dir)
        problem = ""
    except Exception as e:  # an unreadable config still lists the run, with the reason
        cfg, problem = None, str(e)
    s = RunSummary(path=run_dir, name=(cfg.name if cfg and cfg.name else run_dir.name), status="new", config=cfg,
                   max_steps=cfg.train.max_steps if cfg else 0, message=problem)
    s.checkpoints = [name for name, _, _ in checkpoints(run_dir)]
    history = _fold(events) if events is not None else _cached_history(run_dir)
    end = history.pop("end")
    any_events = history.pop("any")
    paused = history.pop("paused")
    for key, value in history.items():
        if value is not None and (key != "max_steps" or value):
            setattr(s, key, value)
    live = lock_holder(run_dir) is not None
    if live:
        s.status = "paused" if paused else "running"
    elif end is not None and end.type == "finished":
        s.status = "stopped" if end.get("reason") == "stopped" else "finished"
        s.step = end.step or s.step
    elif end is not None:
        s.status, s.message = "failed", end.get("message", "")
    elif any_events:
        s.status = "interrupted"
        s.message = "the trainer ended without a final event (killed or crashed)"
    elif cfg is None and (refused := _start_error(run_dir)):
        s.status, s.message = "failed", f"did not start: {refused}"
    return s


def _start_error(run_dir: Path) -> str:
    """The error a trainer printed before it made its run folder (the corpus or config refused), or ""."""
    errors = [e for e in read_events(run_dir / STDOUT_FILE) if e.type == "error"]
    return errors[-1].get("message", "") if errors else ""


_history_cache: dict[Path, tuple[tuple[int, int], dict]] = {}


def _cached_history(run_dir: Path) -> dict:
    """What a run's events say, read again only when events.jsonl changed (the studio refreshes often)."""
    path = run_dir / EVENTS_FILE
    try:
        st = path.stat()
        key = (st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        return _fold([])
    cached = _history_cache.get(run_dir)
    if cached is None or cached[0] != key:
        cached = (key, _fold(read_events(path)))
        _history_cache[run_dir] = cached
    return dict(cached[1])


def _fold(events: list[Event]) -> dict:
    h = {"started": None, "n_params": None, "max_steps": None, "step": 0, "last_loss": None, "duration": 0.0,
         "best_val_loss": None, "last_val_loss": None, "end": None, "any": bool(events), "paused": False,
         "accuracy": None, "macro_f1": None, "test": None}
    for e in events:
        if e.type == "started":
            h["started"] = h["started"] or e.time
            h["n_params"] = e.get("n_params", h["n_params"])
            h["max_steps"] = e.get("config", {}).get("train", {}).get("max_steps", h["max_steps"])
            h["end"], h["paused"] = None, False
        elif e.type == "step":
            h["step"] = e.step or h["step"]
            h["last_loss"] = e.get("loss", h["last_loss"])
            h["duration"] = e.get("elapsed", h["duration"]) or h["duration"]
        elif e.type == "eval":
            h["accuracy"] = e.get("val_accuracy", h["accuracy"])
            h["macro_f1"] = e.get("val_macro_f1", h["macro_f1"])
            v = e.get("val_loss")
            h["last_val_loss"] = v if v is not None else h["last_val_loss"]
            if v is not None and (h["best_val_loss"] is None or v < h["best_val_loss"]):
                h["best_val_loss"] = v
        elif e.type == "status":
            h["paused"] = e.get("state") == "paused"
        elif e.type in ("finished", "error"):
            h["end"] = e
            h["test"] = e.get("test") or h["test"]
            h["duration"] = e.get("elapsed", h["duration"]) or h["duration"]
    return h


def list_runs(root: str | Path) -> list[RunSummary]:
    root = Path(root)
    if not root.is_dir():
        return []
    return [summarize(d) for d in sorted(root.iterdir()) if d.is_dir() and is_run_dir(d)]


def delete_run(run_dir: str | Path) -> None:
    run_dir = Path(run_dir)
    if not is_run_dir(run_dir):
        raise ValueError(f"{run_dir} is not a run folder")
    shutil.rmtree(run_dir)
