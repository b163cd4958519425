"""The Corpus page's "Tokenizer" box: its kind and vocabulary size (or a tokenizer.json to load), and the
Prepare button with its cancel, progress bar and progress line."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
)

from engine.config import schema as C
from studio.widgets.wrapped_label import WrappedLabel


def error_html(message: str) -> str:
    return f"<span style='color:#b91c1c'>{html.escape(message)}</span>"


class TokenizerBox(QGroupBox):
    def __init__(self, parent=None):
        super().__init__("Tokenizer", parent)
        self.kind = QComboBox()
        self.kind.setObjectName("tokenizer_kind")
        self.kind.addItems(list(C.TOKENIZER_KINDS))
        self.vocab_size = QSpinBox(minimum=300, maximum=1_000_000, value=8192, singleStep=1024)
        self.tokenizer_file = QLineEdit()
        self.tokenizer_file.setPlaceholderText("tokenizer.json (for kind = file)")
        self.prepare_btn = QPushButton("Prepare: train tokenizer and encode")
        self.prepare_btn.setObjectName("prepare_button")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress_label = QLabel("")
        self.progress_label.setObjectName("progress_label")
        self.progress_label.setWordWrap(True)
        self.progress_label.setTextFormat(Qt.TextFormat.RichText)
        t = QFormLayout(self)
        t.addRow("Kind", self.kind)
        t.addRow("Vocabulary size", self.vocab_size)
        self.budget_note = WrappedLabel()  # while the Model page's time budget chooses the run's vocabulary
        self.budget_note.setObjectName("tokenizer_budget_note")
        self.budget_note.setStyleSheet("color: #b45309;")
        self.budget_note.hide()
        t.addRow(self.budget_note)
        load_tok = QPushButton("Load tokenizer.json…")
        row = QHBoxLayout()
        row.addWidget(self.tokenizer_file)
        row.addWidget(load_tok)
        t.addRow(row)
        buttons = QHBoxLayout()
        buttons.addWidget(self.prepare_btn)
        buttons.addWidget(self.cancel_btn)
        t.addRow(buttons)
        t.addRow(self.progress)
        t.addRow(self.progress_label)

        load_tok.clicked.connect(self._on_load_tokenizer)
        self.kind.currentTextChanged.connect(lambda k: self.vocab_size.setEnabled(k in C.TRAINED_TOKENIZERS))
        self.vocab_size.setEnabled(False)

    def show_budget_note(self, text: str) -> None:
        self.budget_note.setText(text)
        self.budget_note.setVisible(bool(text))

    def _on_load_tokenizer(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a tokenizer", str(Path.home()), "tokenizer.json (*.json)")
        if path:
            self.tokenizer_file.setText(path)
            self.kind.setCurrentText("file")

    def write(self, t: C.TokenizerConfig) -> None:
        """These settings into a [tokenizer] section."""
        t.kind = self.kind.currentText()
        t.vocab_size = self.vocab_size.value()
        t.path = self.tokenizer_file.text().strip()

    def busy(self) -> None:
        self.prepare_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self.progress.setRange(0, 0)

    def idle(self, message: str) -> None:
        """Nothing prepares: the bar full after a "Ready" line, else empty."""
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if message.startswith("Ready") else 0)
        self.prepare_btn.setEnabled(True)
        self.cancel_btn.setEnabled(False)
        self.progress_label.setText(message)
