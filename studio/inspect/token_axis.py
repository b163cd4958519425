"""An axis of token labels that stays readable at any length: every n-th token is labelled, n chosen from
the pixels each token gets so that no two labels overlap (every token once zoomed in far enough); long
tokens are shortened, the full one is in the hover."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QFont, QFontMetricsF, QPainter, QPicture

SHORT = 10
"""Characters of a token an axis shows (the rest is "…")."""
STEPS = (1, 2, 5)
"""Labels every 1, 2, 5, 10, 20, 50… tokens: positions a reader can count along."""


def token_label(token: str) -> str:
    """A token as one visible line: escapes for control characters, a middle dot for a space."""
    return repr(token)[1:-1].replace(" ", "·") or "∅"


def short_label(token: str) -> str:
    text = token_label(token)
    return text if len(text) <= SHORT else text[:SHORT - 1] + "…"


class TokenAxis(pg.AxisItem):
    """A left or bottom axis whose ticks sit at the middle of each token's cell (token i spans [i, i+1))."""

    def __init__(self, orientation: str, **kwargs):
        super().__init__(orientation, **kwargs)
        self.labels: list[str] = []
        font = QFont()
        font.setPointSizeF(8)
        self.setStyle(tickFont=font)
        self.enableAutoSIPrefix(False)

    def set_tokens(self, tokens: list[str]) -> None:
        self.labels = [short_label(t) for t in tokens]
        self.picture = None
        self.update()

    def gap(self) -> float:
        """Pixels from one label's centre to the next that keep them apart: a line of text on the left axis,
        the widest label (and a space) along the bottom."""
        metrics = QFontMetricsF(self.style["tickFont"])
        if self.orientation in ("left", "right"):
            return metrics.height() * 1.15
        return max((metrics.horizontalAdvance(t) for t in self.labels), default=0.0) + metrics.averageCharWidth() * 2

    def every(self, pixels_per_token: float) -> int:
        """The smallest step of tokens whose labels are a gap apart."""
        return max(1, math.ceil(self.gap() / max(pixels_per_token, 1e-9)))

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph's names)
        n = len(self.labels)
        minVal, maxVal = sorted((minVal, maxVal))  # an inverted axis (queries top down) passes them reversed
        if not n or maxVal <= minVal or size <= 0:
            return []
        every = self.every(size / (maxVal - minVal))
        first = max(0, math.ceil((minVal - 0.5) / every) * every)
        last = min(n - 1, math.floor(maxVal - 0.5))
        return [(float(every), [i + 0.5 for i in range(first, last + 1, every)])]

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        return [self.labels[int(v)] if 0 <= int(v) < len(self.labels) else "" for v in values]

    def drawn_labels(self) -> list[tuple[QRectF, str]]:
        """The labels as the axis draws them now: (rectangle in the axis' coordinates, text)."""
        picture = QPicture()
        painter = QPainter(picture)
        painter.setFont(self.style["tickFont"])
        try:
            specs = self.generateDrawSpecs(painter)
        finally:
            painter.end()
        return [(rect, text) for rect, _, text in specs[2]] if specs else []
