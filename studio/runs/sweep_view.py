"""A sweep's result on the Runs page: each point's final validation loss against one swept field (a
word-valued field such as model.position gets one tick a value), the best point highlighted and named."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget


def final_val_loss(run) -> float | None:
    """The newest evaluation's validation loss: live from the events where they were read, else the summary's."""
    values = [v for v in run.curves["val_loss"].values if v is not None and math.isfinite(v)] if run.loaded else []
    return values[-1] if values else run.summary.last_val_loss


def swept_value(cfg, field: str):
    section, key = field.split(".", 1)
    return getattr(getattr(cfg, section), key)


def best_run(runs: list):
    scored = [(final_val_loss(r), r) for r in runs if final_val_loss(r) is not None]
    return min(scored, key=lambda t: t[0])[1] if scored else None


class SweepView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.field = QComboBox()
        self.field.setObjectName("sweep_field")
        self.plot = pg.PlotWidget()
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("left", "final validation loss")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        # plot items without lines (they follow the axes' log mode, unlike bare scatter items)
        self.points = self.plot.plot([], [], pen=None, symbol="o", symbolSize=9, symbolBrush="#3182bd", symbolPen=None)
        self.best = self.plot.plot([], [], pen=None, symbol="star", symbolSize=18, symbolBrush="#e6550d",
                                   symbolPen=None)
        self.caption = QLabel()
        self.caption.setObjectName("sweep_caption")
        self.caption.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("against"))
        top.addWidget(self.field, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.caption)
        self.runs: list = []
        self.field.currentTextChanged.connect(lambda _: self._draw())

    def show_sweep(self, name: str, runs: list) -> None:
        self.runs = runs
        fields = runs[0].summary.config.swept if runs and runs[0].summary.config else []
        if [self.field.itemText(i) for i in range(self.field.count())] != fields:
            self.field.blockSignals(True)
            self.field.clear()
            self.field.addItems(fields)
            self.field.blockSignals(False)
        self.plot.setTitle(f"Sweep {name}: {len(runs)} runs", size="10pt")
        self._draw()

    def _draw(self) -> None:
        field = self.field.currentText()
        scored = [(r, final_val_loss(r)) for r in self.runs if r.summary.config and final_val_loss(r) is not None]
        if not field or not scored:
            self.points.setData([], [])
            self.best.setData([], [])
            self.caption.setText("No point has a validation loss yet." if self.runs else "")
            return
        values = [swept_value(r.summary.config, field) for r, _ in scored]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        axis = self.plot.getAxis("bottom")
        if numeric:
            raw = [float(v) for v in values]
            log = all(x > 0 for x in raw) and max(raw) / min(raw) >= 20  # a learning rate's decades
            xs = [math.log10(x) for x in raw] if log else raw
            distinct = sorted(set(raw))
            # a tick at each swept value, written as in the config (a random search's many values: the axis's own)
            axis.setTicks([[(math.log10(v) if log else v, f"{v:g}") for v in distinct]] if len(distinct) <= 12 else
                          None)
            self.plot.setLabel("bottom", field + (" (log scale)" if log else ""))
        else:
            words = sorted({str(v) for v in values})
            xs = [float(words.index(str(v))) for v in values]
            axis.setTicks([list(enumerate(words))])
            self.plot.setLabel("bottom", field)
        self.points.setData(xs, [loss for _, loss in scored])
        top = best_run([r for r, _ in scored])
        i = next(i for i, (r, _) in enumerate(scored) if r is top)
        self.best.setData([xs[i]], [scored[i][1]])
        setting = ", ".join(f"{f} = {swept_value(top.summary.config, f)!r}" for f in top.summary.config.swept)
        self.caption.setText(f"Best: {top.summary.name}, final validation loss {scored[i][1]:.4f} ({setting})")
