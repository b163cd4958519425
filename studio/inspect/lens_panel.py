"""The Logit lens tab: each layer's guess at the next token of the text, as a depths x positions grid;
green shows how much probability a depth gives the token that does come next."""

from __future__ import annotations

import html

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.inference import lens_job, started
from studio.inspect.text_cut import with_cut

HELP = ("Each row reads the residual stream after one layer through the model's final norm and output head. "
        "A cell shows that depth's likeliest next token and its probability; the greener, the more it gives "
        "the token that really comes next. Hover for the top guesses.")


def shown(token: str) -> str:
    return repr(token)[1:-1].replace(" ", "·") or "∅"


class LensPanel(QWidget):
    def __init__(self, picker, text_of, parent=None):
        """text_of(): the page's text box contents."""
        super().__init__(parent)
        self.picker, self.text_of = picker, text_of
        self.result: dict | None = None
        self.job = None
        self.run_btn = QPushButton("Read the layers")
        self.run_btn.setObjectName("lens_run")
        self.k = QSpinBox()
        self.k.setObjectName("lens_k")
        self.k.setRange(1, 10)
        self.k.setValue(5)
        self.k.setPrefix("top ")
        self.status = QLabel(HELP)
        self.status.setObjectName("lens_status")
        self.status.setWordWrap(True)
        self.status.setMinimumHeight(2 * self.status.fontMetrics().lineSpacing() + 6)  # two lines, never over the table
        self.table = QTableWidget()
        self.table.setObjectName("lens_table")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        row = QHBoxLayout()
        row.addWidget(self.run_btn)
        row.addWidget(self.k)
        row.addStretch()
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        self.run_btn.clicked.connect(self.compute)

    def compute(self) -> None:
        run = self.picker.run_dir()
        if run is None:
            self.status.setText("Train a run first: its checkpoints appear here.")
            return
        self.run_btn.setEnabled(False)
        self.status.setText("Reading every layer…")
        self.job = started(lens_job(run, self.picker.checkpoint(), self.text_of(), self.k.value()), self,
                           self.show_result, self._on_failed)

    def _on_failed(self, message: str) -> None:
        self.run_btn.setEnabled(True)
        self.status.setText(f"<span style='color:#b91c1c'>{html.escape(message)}</span>")

    def show_result(self, r: dict) -> None:
        self.run_btn.setEnabled(True)
        self.result = r
        depths, tokens = r["depths"], r["tokens"]
        self.table.setRowCount(len(depths))
        self.table.setColumnCount(len(tokens))
        self.table.setVerticalHeaderLabels(depths)
        self.table.setHorizontalHeaderLabels([
            f"{shown(t)}\n→ {shown(tokens[i + 1])}" if i + 1 < len(tokens) else f"{shown(t)}\n→ ?"
            for i, t in enumerate(tokens)])
        for d in range(len(depths)):
            for t in range(len(tokens)):
                guess, p = r["top"][d][t][0], r["probs"][d][t][0]
                item = QTableWidgetItem(f"{shown(guess)}\n{p:.0%}")
                right = r["target"][d][t] if t < len(r["target"][d]) else None
                if right is not None:
                    item.setBackground(QBrush(QColor(22, 163, 74, int(30 + 200 * right))))
                item.setToolTip(f"{depths[d]}, after {shown(tokens[t])!s}:\n" + "\n".join(
                    f"{shown(g)}  {q:.1%}" for g, q in zip(r["top"][d][t], r["probs"][d][t]))
                    + (f"\nthe real next token {shown(tokens[t + 1])}: {right:.1%}" if right is not None else ""))
                self.table.setItem(d, t, item)
        self.table.resizeColumnsToContents()
        self.table.resizeRowsToContents()
        found = self.first_right_depth()
        self.status.setText(with_cut(HELP + (f" The answer appears, on average, at {found}." if found else ""),
                                     r.get("cut")))

    def first_right_depth(self) -> str | None:
        """The first depth whose top guess is right for most positions (where the answer appears)."""
        r = self.result
        n = len(r["tokens"]) - 1
        for d, name in enumerate(r["depths"]):
            right = sum(1 for t in range(n) if r["top"][d][t][0] == r["tokens"][t + 1])
            if n and right * 2 > n:
                return name
        return None
