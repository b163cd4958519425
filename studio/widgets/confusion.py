"""A confusion matrix as a table: counts, shaded by each true label's share, with per-class recall. The table asks
for the height of all its rows (up to MAX_ROWS_SHOWN; more scroll), so a panel it sits in shows every label."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

MAX_ROWS_SHOWN = 12
"""Labels shown at once; a classifier with more scrolls to the rest."""


class ConfusionMatrix(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.caption = QLabel("Rows: true label · columns: predicted label · shade: share of the row")
        self.caption.setObjectName("confusion_caption")
        self.table = QTableWidget()
        self.table.setObjectName("confusion_table")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.installEventFilter(self)  # a narrower table may need its horizontal scroll bar: refit
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.table)

    def set_matrix(self, matrix: list[list[int]] | None, labels: list[str], step: int | None = None) -> None:
        if not matrix:
            self.table.clear()
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            self.table.setMinimumHeight(0)
            return
        k = len(matrix)
        labels = labels if len(labels) == k else [str(i) for i in range(k)]
        self.table.setRowCount(k)
        self.table.setColumnCount(k + 1)
        self.table.setHorizontalHeaderLabels([f"→ {name}" for name in labels] + ["recall"])
        self.table.setVerticalHeaderLabels(labels)
        for r, row in enumerate(matrix):
            total = sum(row) or 1
            for c, count in enumerate(row):
                item = QTableWidgetItem(f"{count:,}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                share = count / total
                hue = QColor(37, 99, 235) if r == c else QColor(220, 38, 38)
                hue.setAlphaF(0.08 + 0.6 * share)
                item.setBackground(hue)
                item.setToolTip(f"true {labels[r]}, predicted {labels[c]}: {count} ({share:.0%} of the row)")
                self.table.setItem(r, c, item)
            recall = QTableWidgetItem(f"{row[r] / total:.0%}")
            recall.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            self.table.setItem(r, k, recall)
        self.table.resizeColumnsToContents()
        self.fit_rows()
        if step is not None:
            self.caption.setText(f"Validation at step {step:,} · rows: true label · columns: predicted · "
                                 f"shade: share of the row")

    def fit_rows(self) -> None:
        """The table's least height: its header and every row (up to MAX_ROWS_SHOWN), and the horizontal scroll
        bar when the columns are wider than the table."""
        t = self.table
        t.resizeRowsToContents()  # compact rows
        rows = min(t.rowCount(), MAX_ROWS_SHOWN)
        frame = 2 * t.frameWidth()
        wide = t.verticalHeader().sizeHint().width() + t.horizontalHeader().length() + frame > t.width()
        bar = t.horizontalScrollBar().sizeHint().height() if wide else 0
        header = t.horizontalHeader().sizeHint().height()
        t.setMinimumHeight(frame + header + sum(t.rowHeight(r) for r in range(rows)) + bar)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.table and event.type() == QEvent.Type.Resize and self.table.rowCount():
            self.fit_rows()
        return False

    def cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item else ""
