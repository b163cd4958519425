"""Live metric plots: items made once, data set from growing buffers; peak downsampling keeps spikes."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetricsF

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


X_LABELS = {"step": "step", "time": "time (s)"}
"""The x axis' words for each choice of the Train page's "x axis"."""
UNIT, PERCENT = (0.0, 1.0), (0.0, 100.0)
"""Known ranges: accuracy, F1, exact match; BLEU, chrF (a metric plot on them never zooms into noise)."""


def set_x_axis(plots, kind: str) -> None:
    """The one place the x axis is chosen: every plot's bottom label follows it ("step" or "time")."""
    for plot in plots:
        plot.set_x_kind(kind)


class PlainLogAxis(pg.AxisItem):
    """A log axis labelled at 1, 2 and 5 of each decade, in plain numbers ("200", "1,000"): pyqtgraph's own labels
    every minor tick as "3·10²", which overlap on a plot a few decades tall."""

    def logTickStrings(self, values, scale, spacing) -> list[str]:
        return [_plain_log_label(10 ** float(v) * scale) for v in values]


def _plain_log_label(x: float) -> str:
    if x <= 0:
        return ""
    mantissa = x / 10 ** math.floor(math.log10(x) + 1e-9)
    if min(abs(mantissa - m) for m in (1, 2, 5)) > 1e-6:
        return ""
    return f"{x:,.0f}" if x >= 1 else f"{x:.3g}"


class MetricPlot(pg.PlotWidget):
    """One metric's plot with named series; `set_series` replaces a series' data. The legend sits above the
    data (never on a curve); a single point gets a readable range around it; a known range is kept."""

    def __init__(self, title: str, *, y_label: str = "", known_range: tuple[float, float] | None = None, parent=None):
        super().__init__(parent=parent, axisItems={"left": PlainLogAxis("left")})
        self.setTitle(title, size="10pt")
        self.showGrid(x=True, y=True, alpha=0.25)
        self.setLabel("left", y_label)
        self.x_kind = "step"
        self.setLabel("bottom", X_LABELS["step"])
        for axis in ("bottom", "left"):  # "step (x0.001)" helps no one
            self.getAxis(axis).enableAutoSIPrefix(False)
        self.legend = self._legend_above()
        self.series: dict[str, pg.PlotDataItem] = {}
        self.known_range = known_range
        self._fixed = {"x": False, "y": False}
        """An axis held around a single value or a known range (set by `_fit`, not by the user)."""
        self.markers = pg.ScatterPlotItem(size=9, symbol="t", brush=pg.mkBrush("#e6550d"), pen=None, hoverable=True,
                                          tip=lambda x, y, data: data or "")  # each mark's words on hover
        self.addItem(self.markers)
        self._fit()

    def _legend_above(self) -> pg.LegendItem:
        """A legend in the plot's layout between the title and the data, where the unused top axis was: the
        series' items join it by name (PlotItem.addItem), and it covers no data."""
        item = self.getPlotItem()
        legend = pg.LegendItem(colCount=4, labelTextSize="8pt", verSpacing=-6)
        top = item.getAxis("top")
        item.layout.removeItem(top)
        top.hide()
        item.layout.addItem(legend, 1, 1, alignment=Qt.AlignmentFlag.AlignRight)
        item.legend = legend
        return legend

    def set_title(self, title: str) -> None:
        self.setTitle(title, size="10pt")

    def set_x_kind(self, kind: str) -> None:
        self.x_kind = kind
        self.setLabel("bottom", X_LABELS[kind])

    def set_known_range(self, known: tuple[float, float] | None) -> None:
        self.known_range = known
        if known is None and self._fixed["y"]:
            self._fixed["y"] = False
            self.enableAutoRange(y=True)
        self._fit()

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
            self._fit_legend()
        return self.series[name]

    def set_series(self, name: str, x, y, **style) -> None:
        self.ensure(name, **style).setData(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        self._fit()

    def _data(self, axis: str) -> np.ndarray:
        """Every series' finite values on one axis, as the view draws them (log10 on a log axis)."""
        parts = [item.xData if axis == "x" else item.yData for item in self.series.values()]
        values = np.concatenate([np.asarray(p, dtype=float) for p in parts if p is not None and len(p)] or
                                [np.empty(0)])
        if axis == "y" and self._log_y():
            values = np.log10(values[values > 0])
        return values[np.isfinite(values)]

    def _fit(self) -> None:
        """Autorange would draw one point at the edge, or zoom a flat line into noise (2076.2 to 2076.8): a
        single value gets a range around it; a known range stays (on a linear axis)."""
        log = self._log_y()
        for axis in ("x", "y"):
            values = self._data(axis)
            span = None
            if axis == "y" and self.known_range is not None and not log:
                lo, hi = self.known_range
                span = (lo - 0.03 * (hi - lo), hi + 0.03 * (hi - lo))
            elif values.size and np.ptp(values) <= 1e-9 * max(1.0, float(np.abs(values).max())):
                v = float(values[0])
                half = 0.1 if log and axis == "y" else max(1.0 if axis == "x" else 1e-6, 0.1 * abs(v)) if v else 1.0
                span = (v - half, v + half)
            set_range = self.setXRange if axis == "x" else self.setYRange
            if span is not None:
                set_range(*span, padding=0)
                self._fixed[axis] = True
            elif self._fixed[axis] and values.size:  # more values came: back to following the data (not a
                self._fixed[axis] = False  # user's zoom); autorange alone sees only what the narrow view clipped
                set_range(float(values.min()), float(values.max()))
                self.enableAutoRange(**{axis: True})

    def _log_y(self) -> bool:
        return self.getPlotItem().ctrl.logYCheck.isChecked()

    def _fit_legend(self) -> None:
        """As many legend columns as the plot's width holds (a narrow plot stacks its names in rows)."""
        items = self.legend.items
        if not items:
            return
        widest = max(sample.boundingRect().width() + QFontMetricsF(label.item.font()).horizontalAdvance(label.text)
                     + 16 for sample, label in items)
        columns = max(1, min(len(items), int(max(1.0, self.width() - 60) // widest)))
        if columns != self.legend.columnCount:
            self.legend.setColumnCount(columns)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if hasattr(self, "legend"):
            self._fit_legend()

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
        self._fixed = {"x": False, "y": False}
        self._fit()

    def point_count(self, name: str) -> int:
        item = self.series.get(name)
        return 0 if item is None or item.xData is None else len(item.xData)

    def set_log_y(self, on: bool) -> None:
        self.setLogMode(y=on)
        if self._fixed["y"]:  # a range held on one scale means nothing on the other
            self._fixed["y"] = False
            self.enableAutoRange(y=True)
        self._fit()
