"""A run and checkpoint chooser shared by the Inspect and Playground pages: a view of one RunChoice of the
application state, which follows the run's best checkpoint until the user picks another."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from engine.run.folder import best_checkpoint, checkpoints
from studio.state.checkpoint_loss import checkpoint_label, loss_at


class RunPicker(QWidget):
    sig_changed = Signal()
    """The chosen run or checkpoint changed."""

    def __init__(self, store, label: str = "Run", parent=None, *, page: str | None = None):
        super().__init__(parent)
        self.store = store
        self.choice = store.state.choice(page or f"{label} {id(self)}")
        """What this picker shows: its run_switched event tells the page to clear what it showed of the old run."""
        self.runs = QComboBox()
        self.runs.setMinimumWidth(160)
        self.checkpoints = QComboBox()
        self.checkpoints.setMinimumWidth(120)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(label))
        layout.addWidget(self.runs, 2)
        layout.addWidget(QLabel("checkpoint"))
        layout.addWidget(self.checkpoints, 1)
        self.runs.currentIndexChanged.connect(self._on_run_changed)
        self.checkpoints.currentIndexChanged.connect(self._on_checkpoint_picked)
        store.sig_runs_changed.connect(self.reload)
        store.sig_checkpoint.connect(self._on_checkpoint)
        self.reload()

    def _on_checkpoint(self, path) -> None:
        """A training run's new checkpoint joins the list; the choice moves with the best unless the user picked."""
        if path == self.run_dir():
            self._list_checkpoints()

    def reload(self) -> None:
        current = self.run_dir()
        self.runs.blockSignals(True)
        self.runs.clear()
        for path, run in sorted(self.store.runs.items(), key=lambda kv: kv[1].summary.started or 0, reverse=True):
            if run.summary.checkpoints:
                self.runs.addItem(f"{run.summary.name}  ({path.name})", str(path))
        if current is not None:
            i = self.runs.findData(str(current))
            if i >= 0:
                self.runs.setCurrentIndex(i)
        self.runs.blockSignals(False)
        self._on_run_changed()

    def _on_run_changed(self) -> None:
        self.choice.choose_run(self.run_dir())  # another run: its best checkpoint, and the page clears the old
        self._list_checkpoints()

    def _list_checkpoints(self) -> None:
        self.checkpoints.blockSignals(True)  # listing is not picking: only the user's changes pin a checkpoint
        self.checkpoints.clear()
        run = self.run_dir()
        if run is not None:
            best = best_checkpoint(run)
            found = checkpoints(run)
            val = self.store.run(run).curves["val_loss"]  # the loss measured at each one's step, if any
            for name, step, _ in reversed(found):
                self.checkpoints.addItem(checkpoint_label(name, loss_at(val.steps, val.values, step),
                                                          best=name == best), name)
            shown = self.choice.checkpoint([name for name, _, _ in found], best)
            self.checkpoints.setCurrentIndex(self.checkpoints.findData(shown))
        self.checkpoints.blockSignals(False)
        self.sig_changed.emit()

    def _on_checkpoint_picked(self, index: int) -> None:
        run = self.run_dir()
        if run is not None and index >= 0:
            self.choice.pick(self.checkpoints.itemData(index), best_checkpoint(run))
        self.sig_changed.emit()

    def run_dir(self) -> Path | None:
        data = self.runs.currentData()
        return Path(data) if data else None

    def checkpoint(self) -> str | None:
        return self.checkpoints.currentData()

    def choose(self, run_dir: Path, checkpoint: str | None = None) -> None:
        i = self.runs.findData(str(run_dir))
        if i >= 0:
            self.runs.setCurrentIndex(i)
        if checkpoint:
            j = self.checkpoints.findData(checkpoint)
            if j >= 0:
                self.checkpoints.setCurrentIndex(j)
