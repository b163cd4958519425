"""The Corpus page's "Reading and cleaning" options: which column holds the text, what one document is
(with a suggestion to read by line when a file looks like one record a line), the validation fraction and
the cleaning steps."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QSpinBox,
)

from engine.config import schema as C
from engine.run.humanlog import counted
from studio.model.fields import field_docs

DOCUMENT_CHOICES = {"paragraph": "a paragraph (blank-line separated)", "line": "a line (names, sentences…)",
                    "file": "a whole file"}


class ReadingBox(QGroupBox):
    def __init__(self, parent=None):
        super().__init__("Reading and cleaning", parent)
        self.column = QComboBox()
        self.column.setObjectName("text_column")
        self.column.setEditable(True)
        self.column.addItem("text")
        self.documents = QComboBox()
        self.documents.setObjectName("documents")
        for key, text in DOCUMENT_CHOICES.items():
            self.documents.addItem(text, key)
        self.documents.setToolTip(field_docs(C.DataConfig)["documents"])
        self.suggestion = QLabel()
        self.suggestion.setObjectName("lines_suggestion")
        self.suggestion.setWordWrap(True)
        self.suggestion.setStyleSheet("color: #92400e;")
        self.suggestion.setVisible(False)
        self.suggest_btn = QPushButton("Read one document per line")
        self.suggest_btn.setObjectName("use_lines")
        self.suggest_btn.setVisible(False)
        self.val_fraction = QDoubleSpinBox(decimals=3, minimum=0.001, maximum=0.5, singleStep=0.01, value=0.1)
        self.normalize = QCheckBox("Unicode NFC")
        self.whitespace = QCheckBox("Collapse whitespace")
        self.dedupe = QCheckBox("Drop exact duplicates")
        self.min_chars = QSpinBox(maximum=1_000_000)
        f = QFormLayout(self)
        f.addRow("Text column", self.column)
        f.addRow("One document is", self.documents)
        f.addRow(self.suggestion)
        f.addRow(self.suggest_btn)
        f.addRow("Validation fraction", self.val_fraction)
        f.addRow(self.normalize)
        f.addRow(self.whitespace)
        f.addRow(self.dedupe)
        f.addRow("Minimum characters", self.min_chars)

    def show_columns(self, columns: list[str], enabled: bool) -> None:
        """A table's columns to pick the text from ("text" first chosen where there is one)."""
        self.column.clear()
        self.column.addItems(columns or ["text"])
        if "text" in columns:
            self.column.setCurrentText("text")
        self.column.setEnabled(enabled)

    def offer_lines(self, documents: int, shown: bool) -> None:
        """Suggest reading one document per line where the source reads as few paragraphs of short lines."""
        self.suggestion.setText(f"This file reads as {counted(documents, 'long paragraph')} of short lines. If each "
                                f"line is one record (a name, a sentence), read one document per line.")
        self.suggestion.setVisible(shown)
        self.suggest_btn.setVisible(shown)

    def write(self, d: C.DataConfig) -> None:
        """These options into a [data] section."""
        d.text_column = self.column.currentText().strip() or "text"
        d.documents = self.documents.currentData() or "paragraph"
        d.val_fraction = self.val_fraction.value()
        d.normalize = "NFC" if self.normalize.isChecked() else ""
        d.collapse_whitespace = self.whitespace.isChecked()
        d.dedupe = self.dedupe.isChecked()
        d.min_chars = self.min_chars.value()
