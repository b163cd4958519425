"""Inspect's heatmaps: attention as a grid of every layer x head, and one head large with token labels and a colour
bar; accuracies per layer x checkpoint as a coloured table."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem

from studio.inspect.token_axis import TokenAxis, token_label

CMAP = "viridis"


class HeadsGrid(pg.GraphicsLayoutWidget):
    sig_head_clicked = Signal(int, int)
    """(layer, head) chosen by a click."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.cells: dict[tuple[int, int], tuple[pg.ViewBox, pg.ImageItem]] = {}
        self.labels: dict[str, pg.LabelItem] = {}
        """Row and column captions: "layer 0", "head 3"."""
        self.selected: tuple[int, int] | None = None
        self.scene().sigMouseClicked.connect(self._on_click)
        self.cmap = pg.colormap.get(CMAP)

    def set_maps(self, maps: np.ndarray) -> None:
        """maps: (layers, heads, T, T)."""
        L, H = maps.shape[:2]
        if set(self.cells) != {(layer, h) for layer in range(L) for h in range(H)}:
            self.clear()
            self.cells.clear()
            self.labels.clear()
            for h in range(H):
                self.labels[f"head {h}"] = self.addLabel(f"head {h}", row=0, col=h + 1, size="8pt")
            for layer in range(L):
                self.labels[f"layer {layer}"] = self.addLabel(f"layer {layer}", row=layer + 1, col=0, angle=-90,
                                                              size="8pt")
                for h in range(H):
                    vb = self.addViewBox(row=layer + 1, col=h + 1, lockAspect=True, enableMouse=False)
                    vb.invertY(True)
                    img = pg.ImageItem(axisOrder="row-major")
                    img.setColorMap(self.cmap)
                    vb.addItem(img)
                    self.cells[(layer, h)] = (vb, img)
        for (layer, h), (vb, img) in self.cells.items():
            img.setImage(maps[layer, h], levels=(0.0, 1.0))
            vb.autoRange(padding=0.02)
        self.highlight(*(self.selected or (0, 0)))

    def highlight(self, layer: int, head: int | None) -> None:
        """Frame the chosen head (head None: the whole layer, as for its mean over heads)."""
        self.selected = (layer, head)
        for (l_, h), (_, img) in self.cells.items():
            chosen = l_ == layer and (head is None or h == head)
            img.setBorder(pg.mkPen("#d62728", width=3) if chosen else None)

    def caption_texts(self) -> list[str]:
        return list(self.labels)

    def image(self, layer: int, head: int) -> np.ndarray:
        return self.cells[(layer, head)][1].image

    def _on_click(self, event) -> None:
        for (layer, h), (vb, _) in self.cells.items():
            if vb.sceneBoundingRect().contains(event.scenePos()):
                self.sig_head_clicked.emit(layer, h)
                return


class HeadView(pg.PlotWidget):
    """One attention map, queries down the left, keys along the bottom, with a colour bar and hover. The map
    fills its panel (cells need not be square) and cannot be panned off it; the token axes label as many
    tokens as fit without overlapping, all of them once zoomed in, and the hover names the full tokens."""

    sig_hovered = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent=parent, axisItems={"left": TokenAxis("left"), "bottom": TokenAxis("bottom")})
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get(CMAP))
        self.addItem(self.image)
        self.invertY(True)
        self.getPlotItem().vb.setDefaultPadding(0)
        self.setLabel("left", "query (attends from)")
        self.setLabel("bottom", "key (attends to)")
        self.colorbar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get(CMAP), interactive=False,
                                        label="weight")
        self.colorbar.setImageItem(self.image, insert_in=self.getPlotItem())
        self.tokens: list[str] = []
        self.keys: list[str] = []
        self.weights = np.zeros((0, 0))
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)

    def set_map(self, weights: np.ndarray, tokens: list[str], title: str, keys: list[str] | None = None) -> None:
        """`tokens` label the queries (rows) and, unless `keys` are given (cross-attention), the keys too."""
        self.weights = weights
        self.tokens, self.keys = tokens, keys if keys is not None else tokens
        self.image.setImage(weights, levels=(0.0, max(1e-6, float(weights.max()))))
        self.colorbar.setLevels((0.0, max(1e-6, float(weights.max()))))
        self.getAxis("left").set_tokens(self.tokens)
        self.getAxis("bottom").set_tokens(self.keys)
        self.setTitle(title)
        rows, cols = weights.shape
        vb = self.getPlotItem().vb
        vb.setLimits(xMin=0, xMax=cols, yMin=0, yMax=rows, minXRange=min(cols, 2), minYRange=min(rows, 2))
        self.setRange(xRange=(0, cols), yRange=(0, rows), padding=0)

    def describe(self, q: int, k: int) -> str:
        if not (0 <= q < len(self.tokens) and 0 <= k < len(self.keys)):
            return ""
        return (f"query {q} {token_label(self.tokens[q])!s} → key {k} {token_label(self.keys[k])!s}: "
                f"weight {self.weights[q, k]:.4f}")

    def _on_mouse_moved(self, pos) -> None:
        point = self.getPlotItem().vb.mapSceneToView(pos)
        text = self.describe(int(np.floor(point.y())), int(np.floor(point.x())))
        self.setToolTip(text)
        if text:
            self.sig_hovered.emit(text)


class AccuracyGrid(QTableWidget):
    """A layers x checkpoints heatmap of accuracies as a table (a concept probe's, studio/inspect/concepts_panel.py):
    each cell says its accuracy and takes its colour from the same colour map as the attention maps, from `low` (the
    baseline) to 1."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for header in (self.horizontalHeader(), self.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.cmap = pg.colormap.get(CMAP)
        self.values: list[list[float | None]] = []

    def set_grid(self, values: list[list[float | None]], rows: list[str], columns: list[str], low: float,
                 tip: str = "") -> None:
        """values[row][column], in [0, 1]; None shows as empty."""
        self.values = values
        self.setRowCount(len(rows))
        self.setColumnCount(len(columns))
        self.setVerticalHeaderLabels(rows)
        self.setHorizontalHeaderLabels(columns)
        for r, row in enumerate(values):
            for c, value in enumerate(row):
                item = QTableWidgetItem("" if value is None else f"{value:.1%}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if value is not None:
                    level = max(0.0, min(1.0, (value - low) / max(1.0 - low, 1e-6)))
                    item.setBackground(QBrush(self.cmap.map(level, mode="qcolor")))
                    item.setForeground(QBrush(QColor("black" if level > 0.6 else "white")))
                    item.setToolTip(f"{rows[r]}, {columns[c]}: {value:.1%}" + (f"\n{tip}" if tip else ""))
                self.setItem(r, c, item)
