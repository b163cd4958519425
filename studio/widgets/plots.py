"""Live metric plots: items made once, data set from growing buffers; peak downsampling keeps spikes."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

pg.setConfigOptions(antialias=False, background="w", foreground="#333")  # antialiasing costs ~10x in paint time

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """Exponential moving average with TensorBoard's debiasing; weight 0 returns the values."""
    return RunningEma()(values, weight)


class RunningEma:
    """The smoothed curve of a growing series, extended by the new points only (a live run appends)."""

    def __init__(self):
        self.weight, self.values, self.out, self.acc, self.norm = None, np.empty(0), np.empty(0), 0.0, 0.0

    def __call__(self, values: np.ndarray, weight: float) -> np.ndarray:
        n = len(self.values)
        grown = weight == self.weight and len(values) >= n and np.array_equal(values[:n], self.values)
        if not grown or weight <= 0:
            self.weight, self.values, self.out, self.acc, self.norm = weight, np.empty(0), np.empty(0), 0.0, 0.0
            n = 0
            if weight <= 0:
                return values
        tail = np.empty(len(values) - n)
        for i, v in enumerate(values[n:]):
            self.acc = self.acc * weight + (1 - weight) * v
            self.norm = self.norm * weight + (1 - weight)
            tail[i] = self.acc / self.norm
        self.values, self.out = np.array(values, dtype=float), np.concatenate([self.out, tail])
        return self.out


class MetricPlot(pg.PlotWidget):
    """One metric's plot with named series; `set_series` replaces a series' data."""

    def __init__(self, title: str, *, y_label: str = "", parent=None):
        super().__init__(parent=parent)
        self.setTitle(title, size="10pt")
        self.showGrid(x=True, y=True, alpha=0.25)
        self.setLabel("left", y_label)
        self.setLabel("bottom", "step")
        for axis in ("bottom", "left"):  # "step (x0.001)" helps no one
            self.getAxis(axis).enableAutoSIPrefix(False)
        self.addLegend(offset=(-10, 10), labelTextSize="8pt")
        self.series: dict[str, pg.PlotDataItem] = {}
        self._fixed_x = False
        """The x range is held around a single step (set by `_fit_single_step`, not by the user)."""
        self.markers = pg.ScatterPlotItem(size=9, symbol="t", brush=pg.mkBrush("#e6550d"), pen=None, hoverable=True,
                                          tip=lambda x, y, data: data or "")  # each mark's words on hover
        self.addItem(self.markers)

    def set_title(self, title: str) -> None:
        self.setTitle(title, size="10pt")

    def ensure(self, name: str, *, color: str, width: float = 1.5, dashed: bool = False, faint: bool = False,
               symbol: str | None = None) -> pg.PlotDataItem:
        if name not in self.series:
            c = pg.mkColor(color)
            if faint:
                c.setAlpha(90)
            pen = pg.mkPen(c, width=width, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
            item = self.plot([], [], pen=pen, name=name, symbol=symbol, symbolSize=6, symbolBrush=color,
                             symbolPen=None)
            item.setDownsampling(auto=True, method="peak")  # min/max per pixel: spikes stay visible
            item.setClipToView(True)
            self.series[name] = item
        return self.series[name]

    def set_series(self, name: str, x, y, **style) -> None:
        self.ensure(name, **style).setData(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        self._fit_single_step()

    def _fit_single_step(self) -> None:
        """One step of data gets a range around it (autorange would span -0.4 to 0.4 of a step)."""
        xs = [item.xData for item in self.series.values() if item.xData is not None and len(item.xData)]
        if not xs:
            return
        lo, hi = min(float(np.nanmin(x)) for x in xs), max(float(np.nanmax(x)) for x in xs)
        if hi - lo < 1:
            start = max(0.0, lo - 1) if lo >= 0 else lo - 1
            self.setXRange(start, start + 2, padding=0)
            self._fixed_x = True
        elif self._fixed_x:  # more steps came: back to following the data (not a user's zoom)
            self._fixed_x = False
            self.setXRange(lo, hi)  # (autorange alone sees only what the narrow view clipped)
            self.enableAutoRange(x=True)

    def remove_series(self, name: str) -> None:
        item = self.series.pop(name, None)
        if item is not None:
            self.removeItem(item)

    def clear_series(self) -> None:
        """Remove every series; the axes forget their ranges (the next run's data sets them)."""
        for name in list(self.series):
            self.remove_series(name)
        self.markers.setData([], [])
        self.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        self.enableAutoRange()

    def point_count(self, name: str) -> int:
        item = self.series.get(name)
        return 0 if item is None or item.xData is None else len(item.xData)

    def set_log_y(self, on: bool) -> None:
        self.setLogMode(y=on)
