"""The marks over the Train page's loss plot, each kind with its legend entry: spikes, NaN losses and rollbacks as
orange triangles, the induction phase change as a star, and each intervention the trainer made as a dashed
vertical line at its step, labelled with what it did ("zero h.1.attn.head.2")."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt

from engine.run.humanlog import describe
from studio.state.interventions import Mark, marks
from studio.widgets.plots import MetricPlot

WARNING_WORDS = {"loss_spike": "loss spike", "nan_loss": "NaN loss", "rollback": "rollback"}
"""The warnings marked, and their words in the legend."""
SPIKE, STAR, INTERVENTION = "#e6550d", "#7c3aed", "#0f766e"
PHASE_CHANGE = "phase change"
INTERVENED = "intervention"
DASH = pg.mkPen(INTERVENTION, width=1.5, style=Qt.PenStyle.DashLine)


def intervention_line(x: float, mark: Mark, *, height: float = 0.9) -> pg.InfiniteLine:
    """A dashed vertical line at `x` labelled with what the intervention did, its sentence as the tooltip (here and
    on the Heads tab's plots); add it with ignoreBounds=True (a vertical line would pull the y range to 0)."""
    line = pg.InfiniteLine(pos=x, angle=90, pen=DASH, label=mark.label,
                           labelOpts={"position": height, "color": INTERVENTION})
    line.setToolTip(mark.message)
    return line


class LossMarks:
    def __init__(self, plot: MetricPlot):
        self.plot = plot
        self.lines: list[pg.InfiniteLine] = []
        self._drawn: list[tuple[float, Mark]] = []  # the lines' (x, mark) on the plot now
        self._legend: dict[str, object] = {}  # name -> the item its sample is drawn from
        self._star = pg.ScatterPlotItem(symbol="star", size=14, brush=pg.mkBrush(STAR), pen=None)
        self._dash = pg.PlotDataItem(pen=DASH)

    def draw(self, run, *, by_step: bool) -> None:
        """Every mark of `run` at its step (`by_step`) or at its time since the run's first event."""
        t0 = run.first_time or 0.0
        legend = {**self._draw_points(run, by_step, t0), **self._draw_lines(run, by_step, t0)}
        self._set_legend(legend)

    def clear(self) -> None:
        self.plot.markers.setData([], [])
        self._set_lines([])
        self._set_legend({})

    def _draw_points(self, run, by_step: bool, t0: float) -> dict[str, object]:
        marks_ = [m for m in run.markers if m.get("kind") in WARNING_WORDS]
        words = [m.get("message") for m in marks_]
        if (pc := run.phase_change) is not None:
            marks_.append(pc)
            words.append(describe(pc))
        values = [v for v in run.curves["loss"].values if v is not None and math.isfinite(v)]
        if not marks_ or not values:
            self.plot.markers.setData([], [])
            return {}
        star = [m.type == "phase_change" for m in marks_]
        xs = [m.step or 0 for m in marks_] if by_step else [m.time - t0 for m in marks_]  # a mark at its own time
        self.plot.markers.setData(xs, [max(values)] * len(marks_), data=words,
                                  symbol=["star" if s else "t" for s in star], size=[16 if s else 9 for s in star],
                                  brush=[pg.mkBrush(STAR if s else SPIKE) for s in star])
        kinds = [WARNING_WORDS[k] for k in WARNING_WORDS if any(m.get("kind") == k for m in marks_)]
        return ({", ".join(kinds): self.plot.markers} if kinds else {}) | ({PHASE_CHANGE: self._star} if any(star)
                                                                           else {})

    def _draw_lines(self, run, by_step: bool, t0: float) -> dict[str, object]:
        made = marks(run.interventions)
        self._set_lines([(float(m.step) if by_step else m.time - t0, m) for m in made])
        return {INTERVENED: self._dash} if made else {}

    def _set_lines(self, lines: list[tuple[float, Mark]]) -> None:
        if lines == self._drawn:
            return
        for line in self.lines:
            self.plot.removeItem(line)
        self.lines, self._drawn = [], lines
        for i, (x, mark) in enumerate(lines):  # labels of lines close together at different heights
            line = intervention_line(x, mark, height=0.9 - 0.12 * (i % 4))
            self.plot.addItem(line, ignoreBounds=True)
            self.lines.append(line)

    def _set_legend(self, legend: dict[str, object]) -> None:
        if legend == self._legend:
            return
        for name in self._legend:
            self.plot.legend.removeItem(name)
        for name, item in legend.items():
            self.plot.legend.addItem(item, name)
        self._legend = legend
        self.plot._fit_legend()  # (as its own series' entries are fitted to the plot's width)
