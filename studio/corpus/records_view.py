"""The Corpus page's rich-text summary of a corpus of records under its preview (tagged sentences, questions on
contexts): what the Model page does with it, the engine's report once prepared, the first records marked; hidden for
any other source."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel


class RecordsView(QLabel):
    def __init__(self, name: str, parent=None):
        super().__init__(parent)
        self.setObjectName(name)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setVisible(False)

    def show_html(self, text: str) -> None:
        """Show `text` (a kind's summary of the chosen source), or nothing when the source is not of that kind."""
        self.setText(text)
        self.setVisible(bool(text))
