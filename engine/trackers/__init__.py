"""Trackers people already use, fed from the run's own event stream: each is an event listener on rank 0
that turns `step`, `eval`, `sample` and `finished` events into the tracker's calls. TensorBoard
(train.tensorboard), MLflow (track.mlflow) and Weights & Biases (track.wandb) are optional packages."""

from __future__ import annotations

import importlib
from pathlib import Path

from engine.config.schema import RunConfig
from engine.run.events import EventWriter
from engine.trackers.tensorboard_log import TensorBoardLog


def attach_trackers(cfg: RunConfig, events: EventWriter, run_dir: Path, *, resuming: bool) -> list:
    """Start the trackers the config asks for and let them listen to `events`; returns them (to close)."""
    made = []
    if cfg.train.tensorboard:
        made.append(TensorBoardLog.open(run_dir, events))
    for wanted, module, name, title in ((cfg.track.mlflow, "mlflow_log", "MLflowLog", "MLflow"),
                                        (cfg.track.wandb, "wandb_log", "WandbLog", "W&B")):
        if not wanted:
            continue
        try:
            kind = getattr(importlib.import_module(f"engine.trackers.{module}"), name)
            made.append(kind(cfg, run_dir, events, resuming=resuming))
        except Exception as e:  # a tracker that cannot start (server unreachable...) never stops the run
            events.emit("warning", kind="tracker", message=f"{title} could not start, so this run is not logged "
                        f"there: {str(e).splitlines()[0][:300]}")
    made = [t for t in made if t is not None]
    events.listeners.extend(made)
    return made


def close_trackers(trackers: list, events: EventWriter) -> None:
    for t in trackers:
        if t in events.listeners:
            events.listeners.remove(t)
        t.close()
