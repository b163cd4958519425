"""A run and checkpoint chooser shared by the Inspect and Playground pages."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from engine.run.folder import best_checkpoint, checkpoints


class RunPicker(QWidget):
    sig_changed = Signal()
    """The chosen run or checkpoint changed."""

    def __init__(self, store, label: str = "Run", parent=None):
        super().__init__(parent)
        self.store = store
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
        self.checkpoints.currentIndexChanged.connect(lambda _: self.sig_changed.emit())
        store.sig_runs_changed.connect(self.reload)
        store.sig_checkpoint.connect(self._on_checkpoint)
        self.reload()

    def _on_checkpoint(self, path) -> None:
        """A training run's new checkpoint joins the list (the chosen one stays chosen)."""
        if path == self.run_dir():
            self._on_run_changed()

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
        chosen = self.checkpoint()
        self.checkpoints.blockSignals(True)
        self.checkpoints.clear()
        run = self.run_dir()
        if run is not None:
            best = best_checkpoint(run)
            for name, _, val_loss in reversed(checkpoints(run)):
                self.checkpoints.addItem(name + (f"  (val {val_loss:.3f})" if val_loss else "")
                                         + ("  best" if name == best else ""), name)
            i = self.checkpoints.findData(chosen)  # the user's choice stays; a new run starts at its best
            self.checkpoints.setCurrentIndex(i if i >= 0 else self.checkpoints.findData(best))
        self.checkpoints.blockSignals(False)
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
