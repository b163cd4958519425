"""The Heads tab: every head's score at each evaluation of training as a layers x heads grid with a
step slider, each head's role, and the top induction score and ICL score beside the loss."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSlider,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.probes.head_scores import SCORES, head_roles
from engine.run.humanlog import describe
from studio.state.interventions import HELD_WORDS, head_hold, marks
from studio.train.loss_marks import intervention_line
from studio.widgets.plots import PALETTE, MetricPlot

SCORE_HINTS = {
    "induction": "attention from a repeated token to the token after its earlier copy",
    "previous": "attention to the token just before",
    "duplicate": "attention to an earlier copy of the same token",
    "sink": "attention to the first token",
    "local": "attention within the last four tokens",
    "entropy": "how evenly attention spreads (1 = uniform)",
}
ZEROED = "#d1d5db"
"""A zeroed head's cell: it adds nothing, and its attention (zero queries and keys) is uniform, so its scores
say nothing of a role; another head taking the role shows in the cells beside it."""
ZEROED_WORDS = "it adds nothing: its attention is uniform, its scores name no role"
EMPTY = ("No head scores yet: the trainer scores every head at each evaluation (runs trained before this "
         "version have none). Try the induction recipe on the Model page.")


class HeadsPanel(QWidget):
    def __init__(self, store, picker, parent=None):
        super().__init__(parent)
        self.store, self.picker = store, picker
        self.history: list[tuple[int, dict]] = []
        self.shown_phase = None
        """The phase-change event drawn now (the trainer may mark a later one)."""
        self.score = QComboBox()
        self.score.setObjectName("head_score")
        for name in SCORES:
            self.score.addItem(name)
            self.score.setItemData(self.score.count() - 1, SCORE_HINTS[name], 3)  # 3: the tooltip role
        self.slider = QSlider()
        self.slider.setOrientation(self.slider.orientation().Horizontal)
        self.slider.setObjectName("heads_step")
        self.slider.setRange(0, 0)  # (a new slider's 0-99 would keep it off the newest step)
        self.step_label = QLabel("")
        self.step_label.setObjectName("heads_step_label")
        self.table = QTableWidget()
        self.table.setObjectName("heads_table")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for header in (self.table.horizontalHeader(), self.table.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)  # a heatmap that fills its half
        self.note = QLabel(EMPTY)
        self.note.setObjectName("heads_note")
        self.note.setWordWrap(True)
        self.loss_plot = MetricPlot("Validation loss", y_label="cross-entropy")
        self.circuit_plot = MetricPlot("Induction and in-context learning")
        self.circuit_plot.setObjectName("circuit_plot")
        self.phase_lines: list[tuple[MetricPlot, pg.InfiniteLine]] = []
        self.intervention_lines: list[tuple[MetricPlot, pg.InfiniteLine]] = []
        """A line at each intervention's step: the loss's bump and another head taking the role show after it."""
        self.shown_made: list = []
        """The interventions drawn now."""
        self.step_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#94a3b8", width=1))  # the slider's step
        self.circuit_plot.addItem(self.step_line)
        self.step_line.setVisible(False)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Score"))
        controls.addWidget(self.score)
        controls.addWidget(self.step_label)
        controls.addWidget(self.slider, 1)
        plots = QWidget()
        pv = QVBoxLayout(plots)
        pv.setContentsMargins(0, 0, 0, 0)
        pv.addWidget(self.circuit_plot)
        pv.addWidget(self.loss_plot)
        split = QSplitter()
        split.addWidget(self.table)
        split.addWidget(plots)
        split.setSizes([520, 600])
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.note)
        layout.addWidget(split, 1)

        self.score.currentIndexChanged.connect(lambda _: self.show_step(self.slider.value()))
        self.slider.valueChanged.connect(self.show_step)
        store.sig_run_updated.connect(self._on_run_updated)

    def refresh(self) -> None:
        """Re-read the chosen run's evaluations; the slider stays at the newest one if it was there."""
        run_dir = self.picker.run_dir()
        state = self.store.run(run_dir) if run_dir is not None else None
        history = list(state.heads) if state is not None else []
        self.shown_phase = state.phase_change if state is not None else None
        at_end = self.slider.value() >= self.slider.maximum()
        self.history = history
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(history) - 1))
        if at_end or self.slider.value() > self.slider.maximum():
            self.slider.setValue(self.slider.maximum())
        self.slider.setEnabled(bool(history))
        self.slider.blockSignals(False)
        self._draw_curves(state)
        self.show_step(self.slider.value())

    def _on_run_updated(self, path) -> None:
        if path == self.picker.run_dir() and self.isVisible():
            state = self.store.run(path)  # step events come many times a second: redraw only what is new
            if len(state.heads) != len(self.history) or state.phase_change is not self.shown_phase or \
                    state.interventions != self.shown_made:
                self.refresh()

    def show_step(self, index: int) -> None:
        if not self.history:
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            self.step_label.setText("")
            self.step_line.setVisible(False)
            self.note.setText(EMPTY)
            return
        step, scores = self.history[min(index, len(self.history) - 1)]
        name = self.score.currentText()
        values = scores.get(name) or []
        roles = head_roles(scores) if all(k in scores for k in SCORES) else [[""] * len(r) for r in values]
        layers, heads = len(values), len(values[0]) if values else 0
        self.table.setRowCount(layers)
        self.table.setColumnCount(heads)
        self.table.setHorizontalHeaderLabels([f"head {h}" for h in range(heads)])
        self.table.setVerticalHeaderLabels([f"layer {layer}" for layer in range(layers)])
        cmap = pg.colormap.get("viridis")
        made = self.store.run(self.picker.run_dir()).interventions
        for layer in range(layers):
            for head in range(heads):
                v = float(values[layer][head])
                held = head_hold(made, step, layer, head)  # zeroed, frozen or re-initialised before this step
                said = f"{HELD_WORDS.get(held[0], held[0])} at step {held[1]}" if held else ""
                zeroed = held is not None and held[0] == "zero"
                role = "" if zeroed else roles[layer][head]
                item = QTableWidgetItem(said if zeroed else "\n".join(t for t in (f"{v:.2f}", role, said) if t))
                item.setBackground(QBrush(QColor(ZEROED) if zeroed else cmap.map(v, mode="qcolor")))
                item.setForeground(QBrush(QColor("black" if v > 0.6 or zeroed else "white")))
                what = f"a {role} head" if role else ZEROED_WORDS if zeroed else ""
                item.setToolTip(f"layer {layer}, head {head}: {name} {v:.3f}" + "".join(f" — {t}" for t in (said, what)
                                                                                        if t)
                                + "\n" + "\n".join(f"{k} {scores[k][layer][head]:.3f}" for k in SCORES if k in scores))
                self.table.setItem(layer, head, item)
        self.step_label.setText(f"step {step}")
        self.step_line.setPos(step)
        self.step_line.setVisible(True)
        state = self.store.run(self.picker.run_dir())
        pc = state.phase_change
        said = describe(pc) if pc is not None else ""
        self.note.setText(f"{name}: {SCORE_HINTS.get(name, '')}. " + (
            said[:1].upper() + said[1:] + "." if said else "No phase change marked yet."))

    def _draw_curves(self, state) -> None:
        for plot in (self.loss_plot, self.circuit_plot):
            plot.clear_series()
        for plot, line in self.phase_lines + self.intervention_lines:
            plot.removeItem(line)
        self.phase_lines.clear()
        self.intervention_lines.clear()
        if state is None:
            return
        c = state.curves
        self.loss_plot.set_series("validation", c["val_loss"].steps, c["val_loss"].values, color=PALETTE[1],
                                  symbol="o")
        self.circuit_plot.set_series("top induction score", c["top_induction"].steps, c["top_induction"].values,
                                     color=PALETTE[4], symbol="o")
        self.circuit_plot.set_series("ICL score (nats)", c["icl_score"].steps, c["icl_score"].values,
                                     color=PALETTE[2], symbol="o")
        if state.phase_change is not None:
            for plot in (self.loss_plot, self.circuit_plot):
                line = pg.InfiniteLine(pos=state.phase_change.step, angle=90, pen=pg.mkPen("#7c3aed", width=2,
                                                                                             dash=[4, 4]),
                                       label="phase change", labelOpts={"position": 0.9, "color": "#7c3aed"})
                line.setToolTip(describe(state.phase_change))
                plot.addItem(line)
                self.phase_lines.append((plot, line))
        self.shown_made = list(state.interventions)
        for mark in marks(state.interventions):
            for plot in (self.loss_plot, self.circuit_plot):
                line = intervention_line(float(mark.step), mark, height=0.7)
                plot.addItem(line, ignoreBounds=True)
                self.intervention_lines.append((plot, line))
