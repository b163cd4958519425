"""The Ablation tab: zero heads and see what the text's loss and each token's probability do without
them. Every head is ranked by its effect alone; tick some and zero them together."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.inference import ablation_job, started
from studio.inspect.lens_panel import shown
from studio.inspect.text_cut import with_cut

HELP = ("Rank heads zeroes each head alone and measures how much the loss on the text rises. Tick heads in "
        "the ranking and press Zero the ticked heads to remove them together and see each token's probability.")


class AblationPanel(QWidget):
    def __init__(self, picker, text_of, roles_of=lambda: [], parent=None):
        """roles_of(): the chosen run's head roles at its newest evaluation ([layer][head] names)."""
        super().__init__(parent)
        self.picker, self.text_of, self.roles_of = picker, text_of, roles_of
        self.job = None
        self.rank_btn = QPushButton("Rank heads")
        self.rank_btn.setObjectName("ablate_rank")
        self.zero_btn = QPushButton("Zero the ticked heads")
        self.zero_btn.setObjectName("ablate_chosen")
        self.zero_btn.setEnabled(False)
        self.status = QLabel(HELP)
        self.status.setObjectName("ablate_status")
        self.status.setWordWrap(True)
        self.status.setMinimumHeight(2 * self.status.fontMetrics().lineSpacing() + 6)  # two lines, never over the table
        self.ranking = QTableWidget(0, 2)
        self.ranking.setObjectName("ablate_ranking")
        self.ranking.setHorizontalHeaderLabels(["head", "loss rise"])
        self.ranking.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.tokens = QTableWidget(0, 3)
        self.tokens.setObjectName("ablate_tokens")
        self.tokens.setHorizontalHeaderLabels(["next token", "with the heads", "without"])
        self.tokens.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        row = QHBoxLayout()
        row.addWidget(self.rank_btn)
        row.addWidget(self.zero_btn)
        row.addStretch()
        split = QSplitter()
        split.addWidget(self.ranking)
        split.addWidget(self.tokens)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        self.rank_btn.clicked.connect(lambda: self.compute([]))
        self.zero_btn.clicked.connect(lambda: self.compute(self.ticked()))

    def ticked(self) -> list[tuple[int, int]]:
        out = []
        for r in range(self.ranking.rowCount()):
            item = self.ranking.item(r, 0)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(tuple(item.data(Qt.ItemDataRole.UserRole)))
        return out

    def compute(self, heads: list[tuple[int, int]]) -> None:
        run = self.picker.run_dir()
        if run is None:
            self.status.setText("Train a run first: its checkpoints appear here.")
            return
        self.rank_btn.setEnabled(False)
        self.zero_btn.setEnabled(False)
        self.status.setText("Zeroing each head in turn…")
        self.job = started(ablation_job(run, self.picker.checkpoint(), self.text_of(), heads), self,
                           self.show_result, self._on_failed)

    def _on_failed(self, message: str) -> None:
        self.rank_btn.setEnabled(True)
        self.zero_btn.setEnabled(self.ranking.rowCount() > 0)
        self.status.setText(f"<span style='color:#b91c1c'>{html.escape(message)}</span>")

    def show_result(self, r: dict) -> None:
        self.rank_btn.setEnabled(True)
        self.zero_btn.setEnabled(True)
        keep = set(self.ticked())
        roles = self.roles_of()
        self.ranking.setRowCount(len(r["ranking"]))
        for i, (layer, head, rise) in enumerate(r["ranking"]):
            role = roles[layer][head] if layer < len(roles) and head < len(roles[layer]) else ""
            item = QTableWidgetItem(f"layer {layer}, head {head}" + (f" ({role})" if role else ""))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if (layer, head) in keep else Qt.CheckState.Unchecked)
            item.setData(Qt.ItemDataRole.UserRole, [layer, head])
            self.ranking.setItem(i, 0, item)
            self.ranking.setItem(i, 1, QTableWidgetItem(f"{rise:+.4f}"))
        self.ranking.resizeColumnsToContents()
        if "loss" not in r:
            top = r["ranking"][0] if r["ranking"] else None
            self.status.setText(with_cut(HELP + (f" Most needed here: layer {top[0]}, head {top[1]} "
                                                 f"(loss {top[2]:+.3f})." if top else ""), r.get("cut")))
            return
        names = ", ".join(f"{a}.{b}" for a, b in r["heads"])
        self.status.setText(with_cut(f"Without heads {names}: loss {r['base_loss']:.3f} → {r['loss']:.3f} "
                                     f"({r['loss'] - r['base_loss']:+.3f} nats per token).", r.get("cut")))
        tokens = r["tokens"]
        self.tokens.setRowCount(len(r["probs"]))
        for t, (before, after) in enumerate(zip(r["base_probs"], r["probs"])):
            self.tokens.setItem(t, 0, QTableWidgetItem(f"{shown(tokens[t])} → {shown(tokens[t + 1])}"))
            self.tokens.setItem(t, 1, QTableWidgetItem(f"{before:.1%}"))
            changed = QTableWidgetItem(f"{after:.1%}")
            drop = before - after
            if abs(drop) > 0.05:
                changed.setBackground(QBrush(QColor(220, 38, 38, 120) if drop > 0 else QColor(22, 163, 74, 120)))
            self.tokens.setItem(t, 2, changed)
        self.tokens.resizeColumnsToContents()
