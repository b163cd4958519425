"""What a run folder says about its run, read without torch: config, status, best loss, duration.

Status comes from the event history and the lock: running (a live process holds the lock), finished,
stopped (by the user; resumable), failed (an error event), interrupted (no end event and no live
process: killed or crashed; resumable from its last checkpoint).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from engine import config as config_mod
from engine.events import Event, read_events
from engine.train.lock import lock_holder

RUN_FILE = "run.toml"
EVENTS_FILE = "events.jsonl"
TOKENIZER_FILE = "tokenizer.json"


@dataclass
class RunSummary:
    path: Path
    name: str
    status: str
    config: config_mod.RunConfig | None
    step: int = 0
    max_steps: int = 0
    best_val_loss: float | None = None
    last_loss: float | None = None
    started: float | None = None
    duration: float = 0.0
    n_params: int | None = None
    message: str = ""
    checkpoints: list[str] = field(default_factory=list)

    @property
    def resumable(self) -> bool:
        return self.status in ("interrupted", "stopped", "failed", "finished") and bool(self.checkpoints)


def is_run_dir(path: Path) -> bool:
    return (Path(path) / RUN_FILE).is_file()


def read_run_config(run_dir: Path) -> config_mod.RunConfig:
    return config_mod.load(Path(run_dir) / RUN_FILE)


def summarize(run_dir: str | Path, events: list[Event] | None = None) -> RunSummary:
    run_dir = Path(run_dir)
    try:
        cfg = read_run_config(run_dir)
        problem = ""
    except Exception as e:  # an unreadable config still lists the run, with the reason
        cfg, problem = None, str(e)
    events = read_events(run_dir / EVENTS_FILE) if events is None else events
    s = RunSummary(path=run_dir, name=(cfg.name if cfg and cfg.name else run_dir.name), status="new", config=cfg,
                   max_steps=cfg.train.max_steps if cfg else 0, message=problem)
    s.checkpoints = [name for name, _, _ in checkpoints(run_dir)]
    end: Event | None = None
    for e in events:
        if e.type == "started":
            s.started = s.started or e.time
            s.n_params = e.get("n_params", s.n_params)
            s.max_steps = e.get("config", {}).get("train", {}).get("max_steps", s.max_steps)
            end = None
        elif e.type == "step":
            s.step = e.step or s.step
            s.last_loss = e.get("loss", s.last_loss)
            s.duration = e.get("elapsed", s.duration) or s.duration
        elif e.type == "eval":
            v = e.get("val_loss")
            if v is not None and (s.best_val_loss is None or v < s.best_val_loss):
                s.best_val_loss = v
        elif e.type in ("finished", "error"):
            end = e
            s.duration = e.get("elapsed", s.duration) or s.duration
    live = lock_holder(run_dir) is not None
    if live:
        s.status = "running"
    elif end is not None and end.type == "finished":
        s.status = "stopped" if end.get("reason") == "stopped" else "finished"
        s.step = end.step or s.step
    elif end is not None:
        s.status, s.message = "failed", end.get("message", "")
    elif events:
        s.status = "interrupted"
        s.message = "the trainer ended without a final event (killed or crashed)"
    return s


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


def checkpoints(run_dir: str | Path) -> list[tuple[str, int, float | None]]:
    """(name, step, validation loss) of a run's complete checkpoints, oldest first; reads no weights."""
    out = []
    for d in (Path(run_dir) / "checkpoints").glob("step-*"):
        meta = meta_of_checkpoint(d)
        if "step" in meta and (d / "model.safetensors").is_file():
            out.append((d.name, int(meta["step"]), meta.get("val_loss")))
    return sorted(out, key=lambda c: c[1])


def meta_of_checkpoint(path: Path) -> dict:
    try:
        return json.loads((Path(path) / "meta.json").read_text())
    except (OSError, ValueError):
        return {}
