"""Weights & Biases: offline by default (track.wandb_mode), so nothing leaves the machine until the user
runs `wandb sync` on the run's wandb/ folder. The config goes in as the run's config, step and eval
numbers as history at their step, samples as a table; a resumed run continues the same W&B run."""

from __future__ import annotations

import uuid
from pathlib import Path

from engine.config.schema import RunConfig
from engine.run.events import Event, EventWriter
from engine.trackers.scalars import scalars
from engine.trackers.tracker import Tracker, remember_id, tracker_ids


class WandbLog(Tracker):
    name = "W&B"

    def __init__(self, cfg: RunConfig, run_dir: Path, events: EventWriter, *, resuming: bool):
        super().__init__(events)
        import wandb  # optional: the trackers extra

        self.wandb = wandb
        known = tracker_ids(run_dir).get("wandb") if resuming else None
        run_id = known or uuid.uuid4().hex[:8]
        settings = wandb.Settings(silent=True, console="off", disable_git=True, save_code=False,
                                  x_disable_meta=True)
        self.run = wandb.init(project=cfg.track.experiment or "attention-studio", name=cfg.name or Path(run_dir).name,
                              id=run_id, resume="allow", dir=str(run_dir), mode=cfg.track.wandb_mode,
                              config=cfg.to_dict(), settings=settings, reinit="create_new")
        if not known:
            remember_id(run_dir, "wandb", run_id)
        self.samples: list[list] = []
        self.ended = False

    def handle(self, event: Event) -> None:
        numbers = scalars(event)
        if numbers:
            self.run.log(numbers, step=event.step or 0)
        if event.type == "sample":
            self.samples.append([event.step, event.get("prompt"), event.get("text")])
            table = self.wandb.Table(columns=["step", "prompt", "text"], data=self.samples)
            self.run.log({"samples": table}, step=event.step or 0)
        if event.type == "finished":
            self.run.summary["finish_reason"] = event.get("reason")
            self.run.finish(exit_code=0)
            self.ended = True

    def finish(self) -> None:
        if not self.ended:
            self.run.finish(exit_code=1)
