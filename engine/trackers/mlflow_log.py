"""MLflow: the run as an MLflow run of the experiment track.experiment, in a local store beside the run
folders (mlflow.db, `mlflow ui --backend-store-uri sqlite:///runs/mlflow.db`) unless track.mlflow_uri
names a tracking server. The config goes in as parameters, step and eval numbers as metrics (sent in
batches), samples as text artifacts; the run ends FINISHED, KILLED (stopped) or FAILED (crashed)."""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path

from engine.config.schema import RunConfig
from engine.run.events import Event, EventWriter
from engine.trackers.scalars import flat_params, scalars
from engine.trackers.tracker import Tracker, remember_id, tracker_ids

BATCH = 200
STATUS = {"finished": "FINISHED", "early_stopping": "FINISHED", "stopped": "KILLED"}


def store_uri(cfg: RunConfig, run_dir: Path) -> str:
    return cfg.track.mlflow_uri or f"sqlite:///{Path(run_dir).resolve().parent / 'mlflow.db'}"


class MLflowLog(Tracker):
    name = "MLflow"

    def __init__(self, cfg: RunConfig, run_dir: Path, events: EventWriter, *, resuming: bool):
        super().__init__(events)
        from mlflow.entities import Metric, Param  # optional: the trackers extra
        from mlflow.tracking import MlflowClient

        for name in ("mlflow", "alembic"):  # its table set-up lines are not the user's (set after its import)
            logging.getLogger(name).setLevel(logging.WARNING)

        self.Metric, self.Param = Metric, Param
        self.client = MlflowClient(store_uri(cfg, run_dir))
        name = cfg.track.experiment or "attention-studio"
        with warnings.catch_warnings():  # the store's set-up warns of its own libraries' deprecations
            warnings.simplefilter("ignore")
            experiment = self.client.get_experiment_by_name(name)
        if experiment is None:
            where = None if cfg.track.mlflow_uri else (Path(run_dir).resolve().parent / "mlflow-artifacts").as_uri()
            experiment_id = self.client.create_experiment(name, artifact_location=where)
        else:
            experiment_id = experiment.experiment_id
        known = tracker_ids(run_dir).get("mlflow") if resuming else None
        if known:
            self.run_id = known
            self.client.update_run(known, status="RUNNING")
        else:
            run = self.client.create_run(experiment_id, run_name=cfg.name or Path(run_dir).name,
                                         tags={"attention_studio.run_dir": str(Path(run_dir).resolve())})
            self.run_id = run.info.run_id
            remember_id(run_dir, "mlflow", self.run_id)
        self.params_done = bool(known)
        self.pending: list = []
        self.ended = False

    def handle(self, event: Event) -> None:
        if event.type == "started" and not self.params_done:
            params = flat_params(event["config"]) | {"n_params": str(event.get("n_params"))}
            self.client.log_batch(self.run_id, params=[self.Param(k, v[:6000]) for k, v in params.items()])
            self.params_done = True
        stamp = int(event.time * 1000)
        self.pending += [self.Metric(k, v, stamp, event.step or 0) for k, v in scalars(event).items()]
        if len(self.pending) >= BATCH or event.type in ("eval", "finished"):
            self.flush()
        if event.type == "sample":
            self.client.log_text(self.run_id, f"{event.get('prompt')}{event.get('text')}",
                                 f"samples/step-{event.step or 0:06d}.txt")
        if event.type == "finished":
            self.client.set_terminated(self.run_id, STATUS.get(event.get("reason"), "FINISHED"),
                                       end_time=int(time.time() * 1000))
            self.ended = True

    def flush(self) -> None:
        if self.pending:
            self.client.log_batch(self.run_id, metrics=self.pending)
            self.pending = []

    def finish(self) -> None:
        self.flush()
        if not self.ended:
            self.client.set_terminated(self.run_id, "FAILED")
