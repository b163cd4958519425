"""One head as BertViz's head view draws it, readable for long texts: the tokens down the left (queries)
and again down the right (keys), a line from each query to each key it attends to, as opaque as the
weight. Pointing at a token on the left shows its lines alone and, after a rest, a tooltip naming what it attends
to most (gone the moment the pointer leaves the token or the view, or the map changes); clicking it chooses it."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QScrollArea, QWidget

from studio.inspect.tip import Tip
from studio.inspect.token_axis import short_label, token_label

GAP = 220
"""Pixels between the two columns of tokens, where the lines run."""
MIN_WEIGHT = 0.02
"""Lighter lines than this are not drawn (they would be invisible, and there are T² of them)."""
LINE = QColor("#1f77b4")
FOCUS = QColor("#fde68a")


class LinesView(QWidget):
    sig_hovered = Signal(str)
    sig_token_clicked = Signal(int)
    """A query token (its row) was clicked."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("attention_lines")
        self.setMouseTracking(True)
        self.font_ = QFont()
        self.font_.setPointSizeF(9)
        self.weights = np.zeros((0, 0))
        self.tokens: list[str] = []
        self.keys: list[str] = []
        self.title = ""
        self.focus: int | None = None
        """The query token under the pointer: only its lines are drawn."""
        self.tip = Tip(self)

    # ----- data ------------------------------------------------------------------------------------
    def set_map(self, weights: np.ndarray, tokens: list[str], title: str, keys: list[str] | None = None) -> None:
        self.weights = np.asarray(weights, dtype=float)
        self.tokens, self.keys = tokens, keys if keys is not None else tokens
        self.title = title
        self.focus = None
        self.tip.hide()  # it described the map before
        rows = max(len(self.tokens), len(self.keys))
        self.setMinimumHeight(int(self.top() + rows * self.row_height() + 8))
        self.setMinimumWidth(int(2 * self.column_width() + GAP / 2))
        self.update()

    def lines(self) -> list[tuple[int, int, float]]:
        """(query, key, opacity) of every line drawn now: the focused query's alone, or every query's."""
        if not self.weights.size:
            return []
        rows = [self.focus] if self.focus is not None else range(self.weights.shape[0])
        top = max(float(self.weights.max()), 1e-9)
        out = []
        for q in rows:
            for k in np.flatnonzero(self.weights[q] >= MIN_WEIGHT * top):
                out.append((q, int(k), float(self.weights[q, k] / top)))
        return out

    # ----- geometry --------------------------------------------------------------------------------
    def metrics(self) -> QFontMetricsF:
        return QFontMetricsF(self.font_)

    def row_height(self) -> float:
        return self.metrics().height() + 3

    def top(self) -> float:
        return self.metrics().height() * 2

    def column_width(self) -> float:
        widths = [self.metrics().horizontalAdvance(short_label(t)) for t in [*self.tokens, *self.keys]]
        return max(widths, default=40.0) + 10

    def columns(self) -> tuple[float, float]:
        """x of the left column's right edge and of the right column's left edge (the lines' ends)."""
        gap = max(GAP / 2, min(GAP, self.width() - 2 * self.column_width()))
        left = (self.width() - gap) / 2
        return left, left + gap

    def token_rect(self, side: str, i: int) -> QRectF:
        left, right = self.columns()
        w = self.column_width()
        x = left - w if side == "query" else right
        return QRectF(x, self.top() + i * self.row_height(), w, self.row_height())

    def row_at(self, pos: QPointF) -> int | None:
        left, _ = self.columns()
        i = int((pos.y() - self.top()) // self.row_height())
        inside = left - self.column_width() <= pos.x() <= left and pos.y() >= self.top()
        return i if inside and 0 <= i < len(self.tokens) else None

    # ----- drawing and the pointer -----------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's names)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        p.setFont(self.font_)
        left, right = self.columns()
        p.setPen(QColor("#333"))
        p.drawText(QRectF(0, 0, self.width(), self.top()), Qt.AlignmentFlag.AlignCenter, self.title)
        half = self.row_height() / 2
        for q, k, alpha in self.lines():
            color = QColor(LINE)
            color.setAlphaF(min(1.0, alpha))
            p.setPen(QPen(color, 2.0 if self.focus is not None else 1.2))
            y_q = self.token_rect("query", q).top() + half
            y_k = self.token_rect("key", k).top() + half
            p.drawLine(QPointF(left + 3, y_q), QPointF(right - 3, y_k))
        for side, labels, align in (("query", self.tokens, Qt.AlignmentFlag.AlignRight),
                                    ("key", self.keys, Qt.AlignmentFlag.AlignLeft)):
            for i, t in enumerate(labels):
                rect = self.token_rect(side, i)
                if side == "query" and i == self.focus:
                    p.fillRect(rect, FOCUS)
                p.setPen(QColor("#111"))
                p.drawText(rect.adjusted(4, 0, -4, 0), align | Qt.AlignmentFlag.AlignVCenter, short_label(t))
        p.end()

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:  # the pointer rested: name the token under it, if any
            self.show_tip(self.row_at(QPointF(event.pos())), event.globalPos())
            return True
        return super().event(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        row = self.row_at(event.position())
        if row != self.focus:
            self.focus = row
            self.update()
            if row is not None:
                self.sig_hovered.emit(self.describe(row))
            if row is None or self.tip.isVisible():  # off the tokens: gone; onto another: it follows
                self.show_tip(row, event.globalPosition().toPoint())

    def leaveEvent(self, event) -> None:  # noqa: N802 (the tip hides itself)
        self.focus = None
        self.update()

    def show_tip(self, row: int | None, at: QPoint) -> None:
        """The tooltip naming query token `row` at `at` (global); none for None."""
        if row is None:
            self.tip.hide()
        else:
            self.tip.show_at(self.describe(row), at)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        row = self.row_at(event.position())
        if row is not None:
            self.sig_token_clicked.emit(row)

    def describe(self, q: int) -> str:
        """The query token in full and the keys it attends to most."""
        order = np.argsort(-self.weights[q])[:3]
        top = ", ".join(f"{token_label(self.keys[k])} {self.weights[q, k]:.2f}" for k in order)
        return f"query {q} {token_label(self.tokens[q])} attends most to: {top}"


def scrolled(view: LinesView) -> QScrollArea:
    """The lines view in a scroll area: a long text scrolls, one row of text per token."""
    area = QScrollArea()
    area.setObjectName("attention_lines_area")
    area.setWidgetResizable(True)
    area.setWidget(view)
    return area
