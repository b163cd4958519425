"""Export a run: a Hugging Face folder or a GGUF file of a chosen type, the suggested name following both."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

FORMATS = {"hf": "Hugging Face transformers folder", "gguf": "GGUF file for llama.cpp, Ollama, LM Studio"}
GGUF_TYPES = {"f16": "f16: half precision, half the size of f32 (the usual choice)",
              "q8_0": "q8_0: 8-bit, about a quarter of f32, nearly as good",
              "f32": "f32: full precision, the largest"}


def suggested_name(run_name: str, fmt: str, gguf_type: str) -> str:
    """my-run-hf for a folder, my-run-q8_0.gguf for a GGUF file of type q8_0."""
    return f"{run_name}-{gguf_type}.gguf" if fmt == "gguf" else f"{run_name}-hf"


class ExportDialog(QDialog):
    def __init__(self, parent, run: Path):
        super().__init__(parent)
        self.setWindowTitle("Export the model")
        self.setObjectName("export_dialog")
        self.run = Path(run)
        self.format = QComboBox()
        self.format.setObjectName("export_format")
        for key, text in FORMATS.items():
            self.format.addItem(text, key)
        self.gguf_type = QComboBox()
        self.gguf_type.setObjectName("gguf_type")
        for key, text in GGUF_TYPES.items():
            self.gguf_type.addItem(text, key)
        self.gguf_type.setToolTip("How the GGUF file stores the weights: smaller files load faster and take less "
                                  "memory, at a little precision")
        self.path = QLineEdit()
        self.path.setObjectName("export_path")
        browse = QPushButton("Browse…")
        where = QHBoxLayout()
        where.addWidget(self.path, 1)
        where.addWidget(browse)
        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("GGUF type", self.gguf_type)
        form.addRow("Save as", where)
        self.form = form
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_btn = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_btn.setObjectName("export_button")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self._suggested = ""
        self.format.currentIndexChanged.connect(self._follow)
        self.gguf_type.currentIndexChanged.connect(self._follow)
        self.path.textChanged.connect(lambda text: self.export_btn.setEnabled(bool(text.strip())))
        browse.clicked.connect(self._on_browse)
        self._follow()
        self.resize(620, self.sizeHint().height())

    def chosen_format(self) -> str:
        return self.format.currentData()

    def chosen_type(self) -> str | None:
        """The GGUF type, or None for a Hugging Face folder."""
        return self.gguf_type.currentData() if self.chosen_format() == "gguf" else None

    def out(self) -> Path:
        return Path(self.path.text().strip()).expanduser()

    def _follow(self, *_) -> None:
        """The type applies to GGUF only; the name follows the format and the type (a name the user typed keeps
        its own stem: my-model-f16.gguf becomes my-model-q8_0.gguf)."""
        fmt, kind = self.chosen_format(), self.gguf_type.currentData()
        self.form.setRowVisible(self.gguf_type, fmt == "gguf")
        current = self.path.text().strip()
        if not current or current == self._suggested:
            self._suggested = str(self.run.parent / suggested_name(self.run.name, fmt, kind))
            self.path.setText(self._suggested)
            return
        stem = current.removesuffix(".gguf").removesuffix("-hf")
        for old in GGUF_TYPES:
            stem = stem.removesuffix(f"-{old}")
        self.path.setText(f"{stem}-{kind}.gguf" if fmt == "gguf" else f"{stem}-hf" if current.endswith(".gguf")
                          else current)

    def _on_browse(self) -> None:
        if self.chosen_format() == "gguf":
            path, _ = QFileDialog.getSaveFileName(self, "Export as a GGUF file", self.path.text(), "GGUF (*.gguf)")
            if path and not path.endswith(".gguf"):
                path += ".gguf"
        else:
            path, _ = QFileDialog.getSaveFileName(self, "Export as a Hugging Face folder (a new folder's name)",
                                                  self.path.text())
        if path:
            self.path.setText(path)
