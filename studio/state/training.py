"""Which runs train on this machine now, and which of them are paused; and the one line each view shows of a
run (the Train page's header and the status bar read the same words, paused ones included)."""

from __future__ import annotations

from pathlib import Path

from studio.state.events import Event
from studio.state.progress import Progress, progress


class TrainingRuns:
    def __init__(self) -> None:
        self.changed = Event()
        """() a run started or ended training, or was paused or resumed."""
        self.live: dict[Path, bool] = {}
        """Each run training now -> whether it is paused."""
        self._progress: dict[Path, tuple[int, Progress]] = {}

    def set_live(self, live: dict[Path, bool]) -> None:
        """What trains now (run folder -> paused), as the trainer processes and their events say."""
        live = {Path(p): bool(paused) for p, paused in live.items()}
        if live != self.live:
            self.live = live
            self.changed.emit()

    @property
    def paths(self) -> list[Path]:
        return list(self.live)

    def is_training(self, path: Path | None) -> bool:
        return path is not None and Path(path) in self.live

    def is_paused(self, path: Path | None) -> bool:
        return bool(path is not None and self.live.get(Path(path)))

    def designs(self, runs: dict) -> list[dict]:
        """The designs (`comparable` configs) of the runs training now, of the workspace's `runs`."""
        return [comparable(run.summary.config.to_dict()) for p in self.live
                if (run := runs.get(p)) is not None and run.summary.config is not None]

    def trains_design(self, config, runs: dict) -> bool:
        """Whether a run of this config's design trains now: the queue would not take it again."""
        return comparable(config.to_dict()) in self.designs(runs)

    def progress(self, run) -> Progress:
        """The run's Progress, computed once per new events (`run.version`) whoever asks."""
        cached = self._progress.get(run.path)
        if cached is not None and cached[0] == run.version:
            return cached[1]
        loss = run.curves["loss"]
        last = run.last_step
        tokens = (last.get("tokens_per_s") or 0) * (last.get("step_time") or 0) if last else 0
        cfg = run.summary.config
        result = progress(loss.steps, loss.times, max_steps(run), tokens_per_step=tokens or None,
                          budget_s=cfg.train.time_budget if cfg is not None else 0.0, elapsed_s=run.elapsed)
        self._progress[run.path] = (run.version, result)
        return result

    def progress_text(self, run) -> str:
        """How far a live run is: the same words on the Train page and in the status bar."""
        p = self.progress(run)
        if self.is_paused(run.path):
            return f"Paused at {p.where_text()}: Resume goes on from there"
        return " · ".join(t for t in (p.where_text(), p.eta_text(), p.speed_text()) if t)

    def status_line(self, runs: dict, current: Path | None) -> str:
        """The status bar: the run shown on the Train page if it trains, else the first that does."""
        if not self.live:
            return "No run is training"
        path = current if self.is_training(current) else next(iter(self.live))
        run = runs.get(path)
        if run is None:
            return "No run is training"
        word = "Paused" if self.is_paused(path) else "Training"
        more = f" (and {len(self.live) - 1} more)" if len(self.live) > 1 else ""
        return f"{word} {run.summary.name}{more}: {self.progress_text(run)}"


def max_steps(run) -> int:
    """The run's total steps: from its summary, or its config before the first event says it."""
    cfg = run.summary.config
    return run.summary.max_steps or (cfg.train.max_steps if cfg is not None else 0)


def alongside_question(training: int) -> tuple[str, str]:
    """(question, the Run alongside button's words) when Train is pressed while `training` runs use the device:
    they share it, so each goes about (training + 1) times slower."""
    n = training + 1
    runs = "a run is" if training == 1 else f"{training} runs are"
    return (f"{runs.capitalize()} training on this machine. Starting another shares the device: each would "
            f"go about {n}× slower, and memory must hold them all.", f"Run alongside (expect about {n}× slower)")


def comparable(config: dict) -> dict:
    """A run config as a plain dict without where it is written: two runs of the same design compare equal."""
    config = {k: dict(v) if isinstance(v, dict) else v for k, v in config.items()}
    config.get("train", {}).pop("out_dir", None)
    config.get("data", {}).pop("cache_dir", None)
    return config
