"""The Train page's "Entities" tab for a tagger: the newest evaluation's entity F1 in a line (with precision,
recall and the training split's F1), and a small table of precision, recall, F1 and support, all types first and
then one row a type (studio/state/entities.py reads them from the `eval` event)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from engine.run.events import Event
from studio.state.entities import OVERALL, EntityRow, entity_scores

HEADERS = ("Type", "Precision", "Recall", "F1", "Entities")
WAITING = "Entity precision, recall and F1 appear here at the first evaluation."


class EntityPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.headline = QLabel(WAITING)
        self.headline.setObjectName("entity_headline")
        self.headline.setWordWrap(True)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setObjectName("entity_table")
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self._shown: Event | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.headline)
        layout.addWidget(self.table)

    def show_scores(self, event: Event | None) -> None:
        """The entity scores of `event` (a run's newest evaluation), or the waiting line when it has none."""
        if event is self._shown:
            return
        self._shown = event
        scores = entity_scores(event)
        if scores is None:
            self.headline.setText(WAITING)
            self.table.setRowCount(0)
            return
        self.headline.setText(scores.headline())
        self.table.setRowCount(len(scores.rows))
        for r, row in enumerate(scores.rows):
            for c, item in enumerate(_cells(row)):
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()

    def row_texts(self) -> list[list[str]]:
        """The table as its cells read (type, precision, recall, F1, entities)."""
        t = self.table
        return [[t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())]


def _cells(row: EntityRow) -> list[QTableWidgetItem]:
    cells = [QTableWidgetItem(row.name)] + [QTableWidgetItem(f"{v:.1%}") for v in (row.precision, row.recall, row.f1)]
    cells.append(QTableWidgetItem(f"{row.support:,}"))
    shade = QColor(37, 99, 235)  # the F1 cell shaded by its value, as the confusion matrix shades a share
    shade.setAlphaF(0.08 + 0.6 * row.f1)
    cells[3].setBackground(shade)
    for cell in cells[1:]:
        cell.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
    if row.name == OVERALL:  # the row the headline reads, in bold
        font = cells[0].font()
        font.setBold(True)
        for cell in cells:
            cell.setFont(font)
    return cells
