"""Small shapes measured without being asked, so that the Model page's estimate is a measurement from the start.

The FLOP count's estimate assumes a share of a guessed CPU peak, which can be off by 2x either way on a given
machine (bench/README.md). A shape whose step that count puts under QUICK_STEP_S is timed in the background,
the same three real steps as "Measure on this machine" (a few seconds, in a process of its own), once the form
has been still for DELAY_MS, while the page is on screen and nothing trains here (the application state's
device use says so, re-attached runs included): a run would slow the measurement and be slowed by it. Each
shape is tried once a session, so one that cannot be measured is not tried again and again. Bigger shapes keep
the button: timing them takes as long as a few of their steps."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QWidget

from studio.state.device import DeviceUse
from studio.state.training import TrainingRuns

QUICK_STEP_S = 0.25
"""The largest step, as the FLOP count estimates it, that is measured unasked (the baby recipe's is ~0.04 s)."""
DELAY_MS = 1000
"""How long the form must stay unchanged first: typing a width does not time every number on the way."""


class AutoMeasure(QObject):
    def __init__(self, page: QWidget, measure: Callable[[], None], *, enabled: bool = True,
                 delay_ms: int = DELAY_MS, device: DeviceUse | None = None):
        super().__init__(page)
        self.page, self.measure, self.enabled = page, measure, enabled
        self.device = device if device is not None else DeviceUse(TrainingRuns())
        """What uses the device now (the application state's): nothing is measured beside a training run."""
        self.tried: set[str] = set()
        self.pending: str | None = None
        self.timer = QTimer(self, singleShot=True, interval=delay_ms)
        self.timer.timeout.connect(self.fire)

    def consider(self, key: str | None, formula_step_s: float) -> None:
        """After every change of the form: `key` is the shape's calibration key when it can be measured here and
        has not been (None otherwise), `formula_step_s` the FLOP count's step."""
        if not self.enabled or key is None or key in self.tried or formula_step_s > QUICK_STEP_S:
            self.timer.stop()
            self.pending = None
            return
        self.pending = key
        self.timer.start()  # again from zero: the form must be still for the whole delay

    def fire(self) -> None:
        if self.pending is None or not self.page.isVisible() or not self.device.can_measure():
            return  # the next change of the form, or the page shown again, asks anew
        self.tried.add(self.pending)
        self.pending = None
        self.measure()
