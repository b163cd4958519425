"""Small display widgets: a titled card of label/value rows, and a token strip."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QFrame, QLabel

TOKEN_COLORS = ["#dbeafe", "#fde68a", "#bbf7d0", "#fbcfe8", "#ddd6fe", "#fed7aa"]


class Card(QFrame):
    """A framed box of `label: value` rows that can be updated by key."""

    def __init__(self, title: str, rows: list[tuple[str, str]], parent=None):
        super().__init__(parent)
        self.setObjectName("card")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QFormLayout(self)
        heading = QLabel(f"<b>{html.escape(title)}</b>")
        layout.addRow(heading)
        self.values: dict[str, QLabel] = {}
        for key, label in rows:
            value = QLabel("–")
            value.setObjectName(f"card_{key}")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addRow(label, value)
            self.values[key] = value

    def set(self, key: str, text: str) -> None:
        self.values[key].setText(text)

    def text(self, key: str) -> str:
        return self.values[key].text()


def token_html(tokens: list[str]) -> str:
    """Tokens as coloured chips, whitespace made visible."""
    chips = []
    for i, t in enumerate(tokens):
        shown = html.escape(t).replace(" ", "&middot;").replace("\n", "&#8629;").replace("\t", "&rarr;")
        chips.append(f'<span style="background:{TOKEN_COLORS[i % len(TOKEN_COLORS)]};padding:1px;">{shown}</span>')
    return "&#8203;".join(chips)  # zero-width spaces: a long sentence wraps between tokens
