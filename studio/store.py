"""The studio's state: the workspace's runs and their live metric buffers. A QObject used on the GUI
thread only; pages subscribe to its signals and never own this state themselves."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine.core.tomlio import write_atomic
from engine.run.events import Event, read_events
from engine.run.folder import EVENTS_FILE
from engine.run.index import indexed_runs
from engine.run.runinfo import RunSummary, is_run_dir, summarize
from studio.state import AppState

EVAL_CURVES = ("val_loss", "train_loss", "val_ppl", "val_accuracy", "train_accuracy", "val_nsp_accuracy",
               "val_macro_f1", "val_entity_f1", "icl_score", "val_bleu", "val_chrf", "val_rouge_l", "val_exact_match",
               "val_exact_match_first_turns", "val_exact_match_later_turns", "val_f1")
CURVES = ("loss", "lr", "tokens_per_s", "grad_norm", *EVAL_CURVES, "top_induction")
FOLLOWED_FILE = "followed.json"


@dataclass
class Curve:
    steps: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def append(self, step: float, value: float, t: float) -> None:
        self.steps.append(step)
        self.values.append(value)
        self.times.append(t)

    def truncate_after(self, step: float) -> None:
        keep = sum(1 for s in self.steps if s <= step)
        del self.steps[keep:], self.values[keep:], self.times[keep:]


class RunState:
    """What the studio knows of one run: its summary plus everything its events said. The events are read
    the first time anything they say is asked for (a workspace of thousands of runs lists from summaries)."""

    DERIVED = ("curves", "samples", "markers", "log", "last_step", "last_error", "state", "objective", "labels",
               "confusion", "val_text", "first_time", "version", "heads", "phase_change", "last_eval",
               "interventions", "diagnoses", "concepts", "elapsed")

    def __init__(self, path: Path, summary: RunSummary):
        self.path, self.summary = Path(path), summary

    @property
    def loaded(self) -> bool:
        return "curves" in self.__dict__

    def __getattr__(self, name: str):  # only for attributes not set yet: the events' part, read on first use
        if name in RunState.DERIVED and not self.loaded:
            self._clear()
            self.apply(read_events(self.path / EVENTS_FILE))
            return getattr(self, name)
        raise AttributeError(name)

    def _clear(self) -> None:
        self.curves: dict[str, Curve] = {k: Curve() for k in CURVES}
        self.samples: list[Event] = []
        self.markers: list[Event] = []
        """Warnings (spikes, NaN, rollbacks) to mark on the curves."""
        self.log: list[str] = []
        self.last_step: Event | None = None
        self.last_error: Event | None = None
        self.state = ""
        self.objective = "causal"
        self.labels: list[str] = []
        self.confusion: list[list[int]] | None = None
        """The newest validation confusion matrix of a classifier (rows = true label)."""
        self.last_eval: Event | None = None
        """The newest evaluation, every metric it reported (a tagger's entity scores per type among them)."""
        self.val_text = ""
        """The start of the run's validation data, said by its `started` event (default prompts come from it)."""
        self.heads: list[tuple[int, dict]] = []
        """(step, head_scores) of every evaluation that scored the heads."""
        self.phase_change: Event | None = None
        """The trainer's newest phase-change mark (a later, steeper rise supersedes an earlier one)."""
        self.interventions: list[Event] = []
        """Interventions the trainer made (freeze, zero, reinit of a part), in order (studio/state/interventions.py)."""
        self.diagnoses: list[Event] = []
        """The loss-spike doctor's diagnoses, in order."""
        self.concepts: list[Event] = []
        """The evaluations that probed the run's concept (train.concept_regex): studio/state/concepts.py."""
        self.first_time: float | None = None
        self.elapsed: float | None = None
        """The run's own clock, by its newest step or its end: what a time budget counts (its set-up included)."""
        self.version = 0
        """Bumped on every change, so views redraw only when something is new."""

    def apply(self, events: list[Event]) -> None:
        from engine.run.humanlog import describe

        for e in events:
            if self.first_time is None:
                self.first_time = e.time
            if e.type == "started" and e.get("resumed_from") and e.step is not None:
                for c in self.curves.values():  # a resumed run replays the steps after its checkpoint
                    c.truncate_after(e.step)
                self.heads = [h for h in self.heads if h[0] <= e.step]
                self.concepts = [c for c in self.concepts if c.step <= e.step]
                self.interventions = [i for i in self.interventions if i.step < e.step]  # (one at the checkpoint's
                self.diagnoses = [d for d in self.diagnoses if d.step <= e.step]  # step is made again before its next)
            if e.type in ("step", "finished") and e.get("elapsed") is not None:
                self.elapsed = e["elapsed"]
            if e.type == "step":
                for k in ("loss", "lr", "tokens_per_s", "grad_norm"):
                    if e.get(k) is not None:
                        self.curves[k].append(e.step, e[k], e.time)
                self.last_step = e
            elif e.type == "eval":
                self.last_eval = e
                for k in EVAL_CURVES:
                    if e.get(k) is not None:
                        self.curves[k].append(e.step, e[k], e.time)
                if e.get("val_confusion") is not None:
                    self.confusion, self.labels = e["val_confusion"], e.get("labels") or self.labels
                if e.get("concept_accuracy") or e.get("concept_problem"):
                    self.concepts.append(e)
                if e.get("head_scores"):
                    self.heads.append((e.step, e["head_scores"]))
                    top = max((max(row) for row in e["head_scores"].get("induction") or [[0.0]]), default=0.0)
                    self.curves["top_induction"].append(e.step, top, e.time)
            elif e.type == "phase_change":
                self.phase_change = e
            elif e.type == "intervention":
                self.interventions.append(e)
            elif e.type == "diagnosis":
                self.diagnoses.append(e)
            elif e.type == "sample":
                self.samples.append(e)
            elif e.type == "warning" and e.get("kind") != "config":  # settings warnings go to the log only
                self.markers.append(e)
            elif e.type == "status":
                self.state = e.get("state", "")
            elif e.type == "error":
                self.last_error = e
            elif e.type == "started":
                self.last_error = None
                self.objective = e.get("objective") or "causal"
                self.val_text = e.get("val_text") or self.val_text
                self.labels = e.get("labels") or []
            line = describe(e)
            if line and e.type != "step":
                self.log.append(line)
        if events:
            self.version += 1


class Store(QObject):
    sig_runs_changed = Signal()
    """The list of runs (or a run's status) changed."""
    sig_run_updated = Signal(object)
    """New events arrived for a run (its Path)."""
    sig_checkpoint = Signal(object)
    """A run (its Path) wrote a checkpoint: pickers of runs and checkpoints list it."""
    sig_current_run_changed = Signal(object)
    """Another run (a Path or None) is now the one shown on the Train page."""
    sig_workspace_changed = Signal(object)

    def __init__(self, workspace: Path):
        super().__init__()
        self.workspace = Path(workspace)
        self.runs: dict[Path, RunState] = {}
        self.current: Path | None = None
        self.state = AppState()
        """The one Qt-free application state every page shows (studio/state/)."""

    # folders of the workspace
    @property
    def runs_dir(self) -> Path:
        return self.workspace / "runs"

    @property
    def configs_dir(self) -> Path:
        return self.workspace / "configs"

    @property
    def corpora_dir(self) -> Path:
        return self.workspace / "corpora"

    @property
    def cache_dir(self) -> Path:
        return self.workspace / "cache"

    def set_workspace(self, path: Path) -> None:
        self.workspace = Path(path)
        self.runs.clear()
        self.current = None
        self.refresh()
        self.sig_workspace_changed.emit(self.workspace)

    @property
    def followed_file(self) -> Path:
        return self.workspace / FOLLOWED_FILE

    def followed(self) -> list[Path]:
        """Run folders outside the workspace that it lists too (a cluster job's, on a shared file system)."""
        try:
            return [Path(p) for p in json.loads(self.followed_file.read_text())]
        except (OSError, ValueError, TypeError):
            return []

    def follow_folder(self, path: Path, *, pending: bool = False) -> str:
        """List a run folder from elsewhere with the workspace's runs; returns a problem in words, or "".
        `pending`: a cluster job's run folder, listed once the job has started writing it."""
        path = Path(path).resolve()
        if not pending and not is_run_dir(path):
            return (f"{path} is not a run folder (it has no run.toml yet): a cluster job's run folder appears "
                    f"when the job starts")
        if path.parent == self.runs_dir.resolve() or path in self.followed():
            return ""
        self._save_followed([*self.followed(), path])
        self.refresh()
        return ""

    def unfollow(self, path: Path) -> None:
        self._save_followed([p for p in self.followed() if p != Path(path)])
        self.refresh()

    def is_followed(self, path: Path) -> bool:
        return Path(path) in self.followed()

    def _save_followed(self, paths: list[Path]) -> None:
        write_atomic(self.followed_file, json.dumps([str(p) for p in paths], indent=2))

    def refresh(self) -> None:
        """Re-read the runs folder (through its summary index) and the followed folders: new runs appear,
        deleted ones go, statuses update."""
        found = {s.path: s for s in indexed_runs(self.runs_dir)}
        found |= {p: summarize(p) for p in self.followed() if is_run_dir(p)}
        for path in list(self.runs):
            if path not in found:
                del self.runs[path]
                if self.current == path:
                    self.set_current(None)
        for path, summary in found.items():
            if path in self.runs:
                self.runs[path].summary = summary
            else:
                self.runs[path] = RunState(path, summary)  # its events are read when something asks for them
        self.sig_runs_changed.emit()

    def run(self, path: Path) -> RunState:
        path = Path(path)
        if path not in self.runs:
            self.runs[path] = RunState(path, summarize(path))
        return self.runs[path]

    def add_events(self, path: Path, events: list[Event]) -> None:
        state = self.run(path)
        if state.loaded:
            state.apply(events)
        else:  # reading the file takes these too (a follower passes on what the file has)
            written = (Path(path) / EVENTS_FILE).exists()
            state.version  # noqa: B018 (reads the events)
            if not written:  # a trainer's first words, from its stdout before the events file existed
                state.apply(events)
        wrote = any(e.type == "checkpoint" for e in events)
        if any(e.type in ("started", "finished", "error") for e in events) or (wrote and not state.summary.checkpoints):
            state.summary = summarize(path)  # (a first checkpoint: the run can now be inspected while it trains)
            self.sig_runs_changed.emit()
        self.sig_run_updated.emit(Path(path))
        if wrote:
            self.sig_checkpoint.emit(Path(path))

    def resummarize(self, path: Path) -> None:
        self.run(path).summary = summarize(path)
        self.sig_runs_changed.emit()

    def set_current(self, path: Path | None) -> None:
        self.current = Path(path) if path else None
        self.sig_current_run_changed.emit(self.current)
