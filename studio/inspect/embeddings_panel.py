"""The Embeddings tab: the token embeddings as a 2-D map (recorded at each evaluation, so the slider
shows the map over training), hover names the token, and a chosen token's nearest neighbours."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from studio.inference import neighbours_job, started
from studio.inspect.lens_panel import shown

EMPTY = ("No embedding maps yet: the trainer records one at each evaluation (runs trained before this "
         "version have none).")


def recorded_maps(run_dir: Path | None) -> list[int]:
    if run_dir is None:
        return []
    return sorted(int(p.stem.split("-")[1]) for p in (run_dir / "embeddings").glob("step-*.npy"))


class EmbeddingsPanel(QWidget):
    def __init__(self, picker, parent=None):
        super().__init__(parent)
        self.picker = picker
        self.steps: list[int] = []
        self.ids: list[int] = []
        self.names: list[str] = []
        self.points = np.zeros((0, 2), dtype=np.float32)
        self.job = None
        self.slider = QSlider()
        self.slider.setOrientation(self.slider.orientation().Horizontal)
        self.slider.setObjectName("embed_step")
        self.step_label = QLabel(EMPTY)
        self.step_label.setObjectName("embed_step_label")
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("embed_map")
        self.plot.setTitle("Token embeddings (first two principal components)", size="10pt")
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.scatter = pg.ScatterPlotItem(size=8, brush=pg.mkBrush(31, 119, 180, 160), pen=None, hoverable=True,
                                          hoverBrush=pg.mkBrush("#d62728"), tip=lambda x, y, data: data)
        self.labels: list[pg.TextItem] = []
        self.chosen_mark = pg.ScatterPlotItem(size=16, symbol="o", brush=None, pen=pg.mkPen("#d62728", width=2))
        self.plot.addItem(self.scatter)
        self.plot.addItem(self.chosen_mark)
        self.token = QComboBox()
        self.token.setObjectName("embed_token")
        self.find_btn = QPushButton("Nearest neighbours")
        self.find_btn.setObjectName("embed_neighbours")
        self.neighbours = QListWidget()
        self.neighbours.setObjectName("embed_neighbour_list")
        self.status = QLabel("")
        self.status.setObjectName("embed_status")
        self.status.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(self.step_label)
        top.addWidget(self.slider, 1)
        side = QWidget()
        sv = QVBoxLayout(side)
        sv.setContentsMargins(0, 0, 0, 0)
        sv.addWidget(QLabel("Token"))
        sv.addWidget(self.token)
        sv.addWidget(self.find_btn)
        sv.addWidget(self.neighbours, 1)
        sv.addWidget(self.status)
        split = QSplitter()
        split.addWidget(self.plot)
        split.addWidget(side)
        split.setSizes([800, 300])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self.slider.valueChanged.connect(self.show_step)
        self.token.currentIndexChanged.connect(lambda _: self._mark_chosen())
        self.find_btn.clicked.connect(self.find_neighbours)

    def refresh(self) -> None:
        run = self.picker.run_dir()
        self.steps = recorded_maps(run)
        tokens_file = run / "embeddings" / "tokens.json" if run is not None else None
        if not self.steps or not tokens_file.is_file():
            self.steps, self.ids, self.names = [], [], []
            self.scatter.setData([], [])
            self.chosen_mark.setData([], [])
            self.step_label.setText(EMPTY)
            self.slider.setEnabled(False)
            self.token.clear()
            return
        recorded = json.loads(tokens_file.read_text(encoding="utf-8"))
        self.ids, self.names = recorded["ids"], recorded["tokens"]
        self.token.blockSignals(True)
        self.token.clear()
        self.token.addItems([f"{shown(t)}" for t in self.names])
        self.token.blockSignals(False)
        self.slider.blockSignals(True)
        self.slider.setEnabled(True)
        self.slider.setRange(0, len(self.steps) - 1)
        self.slider.setValue(len(self.steps) - 1)
        self.slider.blockSignals(False)
        self.show_step(len(self.steps) - 1)

    def show_step(self, index: int) -> None:
        if not self.steps:
            return
        step = self.steps[index]
        self.points = np.load(self.picker.run_dir() / "embeddings" / f"step-{step:06d}.npy")
        n = min(len(self.points), len(self.names))
        self.scatter.setData(self.points[:n, 0], self.points[:n, 1], data=[shown(t) for t in self.names[:n]])
        for item in self.labels:
            self.plot.removeItem(item)
        self.labels = []
        if n <= 120:  # a small vocabulary (characters) is readable with every label shown
            for (x, y), name in zip(self.points[:n], self.names[:n]):
                item = pg.TextItem(shown(name), color="#334155", anchor=(0.5, 1.2))
                item.setPos(float(x), float(y))
                self.plot.addItem(item)
                self.labels.append(item)
        self.step_label.setText(f"Embeddings over training: step {step}")
        self._mark_chosen()

    def _mark_chosen(self) -> None:
        i = self.token.currentIndex()
        if 0 <= i < len(self.points):
            self.chosen_mark.setData([self.points[i, 0]], [self.points[i, 1]])

    def find_neighbours(self) -> None:
        run, i = self.picker.run_dir(), self.token.currentIndex()
        if run is None or i < 0:
            self.status.setText("Choose a run with an embedding map and a token first.")
            return
        self.find_btn.setEnabled(False)
        self.status.setText("Looking…")
        self.job = started(neighbours_job(run, self.picker.checkpoint(), self.ids[i]), self, self._on_neighbours,
                           self._on_failed)

    def _on_neighbours(self, r: dict) -> None:
        self.find_btn.setEnabled(True)
        self.neighbours.clear()
        self.neighbours.addItems([f"{shown(t)}   {sim:.3f}" for t, sim in r["neighbours"]])
        self.status.setText(f"Most like {shown(self.names[self.token.currentIndex()])} by cosine similarity, "
                            f"in the checkpoint {self.picker.checkpoint()}.")

    def _on_failed(self, message: str) -> None:
        self.find_btn.setEnabled(True)
        self.status.setText(f"<span style='color:#b91c1c'>{html.escape(message)}</span>")
