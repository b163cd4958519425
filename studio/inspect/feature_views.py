"""The Features tab's three views of what `engine features` found: a checkpoint's features (label, density), the
chosen feature's top-activating contexts as shaded text, and the timeline of features kept, born, split, merged
and died from each checkpoint to the next."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem

from studio.inspect.shaded_text import ORANGE, shaded_html
from studio.state.features import EVENTS

CONTEXTS_HELP = ("Select a feature: the contexts where it fires most appear here, each token shaded by the "
                 "feature's activation on it, the position it fired at underlined.")
EVENT_HINTS = {
    "kept": "features that kept their direction (decoder cosine at or above the match) from the checkpoint before",
    "born": "features with no match in the checkpoint before",
    "split": "one feature of the checkpoint before matched by several here",
    "merged": "several features of the checkpoint before matched by one here",
    "regrouped": "several features before matched by several here",
    "died": "features of the checkpoint before with no match here",
}


def read_only(table: QTableWidget) -> None:
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)


def cell(text: str, value=None) -> QTableWidgetItem:
    """A cell that sorts by `value` (its number), not by its text."""
    item = QTableWidgetItem(text)
    item.setData(Qt.ItemDataRole.UserRole, value)
    return item


class FeatureList(QTableWidget):
    """The checkpoint's live features, densest first: a row each, #id, label and density."""

    sig_chosen = Signal(object)
    """The feature's card (a dict of features.json), or None."""

    def __init__(self, parent=None):
        super().__init__(0, 3, parent)
        self.setObjectName("feature_list")
        self.setHorizontalHeaderLabels(["feature", "label (its top tokens)", "density"])
        read_only(self)
        self.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.cards: list[dict] = []
        self.itemSelectionChanged.connect(self._on_selected)

    def set_features(self, cards: list[dict]) -> None:
        """Show `cards`; the feature chosen before stays chosen where it is among them (else the first)."""
        before = self.chosen()
        self.blockSignals(True)
        self.cards = cards
        self.setRowCount(len(cards))
        for row, c in enumerate(cards):
            self.setItem(row, 0, cell(f"#{c['id']}", c["id"]))
            self.setItem(row, 1, cell(c.get("label", "")))
            density = cell(f"{c['density']:.1%}", c["density"])
            density.setToolTip("the share of the sample's positions where the feature is on")
            self.setItem(row, 2, density)
        self.resizeColumnToContents(0)
        self.resizeColumnToContents(2)
        ids = [c["id"] for c in cards]
        self.blockSignals(False)
        if cards:
            self.selectRow(ids.index(before["id"]) if before and before["id"] in ids else 0)
        self._on_selected()

    def chosen(self) -> dict | None:
        rows = self.selectionModel().selectedRows() if self.selectionModel() else []
        return self.cards[rows[0].row()] if rows and rows[0].row() < len(self.cards) else None

    def choose(self, feature_id: int) -> None:
        self.selectRow(next(i for i, c in enumerate(self.cards) if c["id"] == feature_id))

    def _on_selected(self) -> None:
        self.sig_chosen.emit(self.chosen())


class ContextsView(QLabel):
    """The feature's top-activating contexts, one a line, strongest first."""

    def __init__(self, parent=None):
        super().__init__(CONTEXTS_HELP, parent)
        self.setObjectName("feature_contexts")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.card: dict | None = None

    def set_card(self, card: dict | None) -> None:
        self.card = card
        if not card or not card.get("contexts"):
            self.setText(CONTEXTS_HELP)
            return
        head = (f"<b>#{card['id']}</b> {html.escape(card.get('label', ''))}: on at {card['density']:.1%} of positions, "
                f"strongest {card.get('max', 0):.3g}")
        lines = [shaded_html(c["tokens"], c["acts"], mark=c["at"], color=ORANGE, top=card.get("max"))
                 for c in card["contexts"]]
        self.setText(head + "<br><br>" + "<br>".join(f"<tt>{line}</tt>" for line in lines))


class TimelineTable(QTableWidget):
    """A row a checkpoint: the share of the residual stream the SAE explains, its live features and how many were
    kept, born, split, merged and died since the checkpoint before."""

    COLUMNS = ["checkpoint", "explained", "alive", *[word for _, word in EVENTS]]

    def __init__(self, parent=None):
        super().__init__(0, len(self.COLUMNS), parent)
        self.setObjectName("feature_timeline")
        self.setHorizontalHeaderLabels(self.COLUMNS)
        read_only(self)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for i, (_, word) in enumerate(EVENTS):
            self.horizontalHeaderItem(3 + i).setToolTip(EVENT_HINTS[word])
        self.rows: list[dict] = []

    def set_rows(self, rows: list[dict], chosen: str | None) -> None:
        self.rows = rows
        self.setRowCount(len(rows))
        for r, row in enumerate(rows):
            values = [f"step {row['step']}", f"{row['explained']:.1%}", str(row["alive"]),
                      *["–" if row[kind] is None else str(row[kind]) for kind, _ in EVENTS]]
            for c, text in enumerate(values):
                item = cell(text)
                if row["checkpoint"] == chosen:
                    item.setBackground(QBrush(QColor(253, 230, 138)))
                self.setItem(r, c, item)
        self.resizeRowsToContents()

    def counts(self, kind: str) -> list[int | None]:
        """The column of `kind` (an EVENTS name), a value a checkpoint (tests and screenshots read it)."""
        return [row[kind] for row in self.rows]
