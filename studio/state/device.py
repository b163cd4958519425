"""What uses this machine's device: the training runs and a measurement of a shape. Measuring never starts
beside a training run (it would time both slower); a figure taken while a run trained anyway (one started
during the measurement) is taken under load: the measurement keeps that mark (engine/plan/estimate.py), so it says
so whenever it is shown, after the studio is reopened too."""

from __future__ import annotations

from studio.state.events import Event
from studio.state.training import TrainingRuns


class DeviceUse:
    def __init__(self, training: TrainingRuns) -> None:
        self.training = training
        self.changed = Event()
        """() a measurement started or ended, or a run started or ended training."""
        self.measuring: str | None = None
        """The shape (its calibration key) being measured now."""
        self.disturbed = False
        """A run trained during the measurement now under way."""
        training.changed.connect(self._on_training_changed)

    def can_measure(self) -> bool:
        return not self.training.live and self.measuring is None

    def why_not_measure(self) -> str:
        if self.training.live:
            return "A run is training on this machine: a measurement beside it would time both slower"
        return "Measuring…" if self.measuring else ""

    def measurement_started(self, key: str) -> None:
        self.measuring, self.disturbed = key, bool(self.training.live)
        self.changed.emit()

    def measurement_ended(self, *, ok: bool) -> bool:
        """The measurement under way ended (`ok`: with figures); True when a run trained while it was taken."""
        under_load = ok and self.disturbed
        self.measuring, self.disturbed = None, False
        self.changed.emit()
        return under_load

    def _on_training_changed(self) -> None:
        if self.measuring is not None and self.training.live:
            self.disturbed = True
        self.changed.emit()
