"""The Corpus page's row of sources: a path typed or pasted, files or a folder chosen, or a demo corpus
written into the workspace; each ends as the list of paths the page reads."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from engine.demo import DEMOS

CORPUS_FILES = "Text and tables (*.txt *.md *.jsonl *.json *.csv *.parquet *.py);;All files (*)"


class SourcesRow(QWidget):
    sig_paths = Signal(object)
    """The files or the folder chosen (a list of Path)."""
    sig_demo = Signal(str)
    """The name of the demo corpus chosen."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.path = QLineEdit()
        self.path.setObjectName("corpus_path")
        self.path.setPlaceholderText("Drop a file or folder here, or choose one")
        add_file = QPushButton("Add file…")
        add_folder = QPushButton("Add folder…")
        self.demo = QComboBox()
        self.demo.setObjectName("demo_corpus")
        self.demo.addItem("Demo corpus…")
        self.demo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.demo.setMinimumContentsLength(16)  # its items' long descriptions must not widen the window
        for name, text in DEMOS.items():
            self.demo.addItem(f"{name}: {text}", name)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("File or folder"))  # the name the page's messages give it (CORPUS_LABELS)
        row.addWidget(self.path, 1)
        row.addWidget(add_file)
        row.addWidget(add_folder)
        row.addWidget(self.demo)

        self.path.returnPressed.connect(self._on_path_typed)
        add_file.clicked.connect(self._on_add_file)
        add_folder.clicked.connect(self._on_add_folder)
        self.demo.activated.connect(self._on_demo_chosen)

    def _on_path_typed(self) -> None:
        """A path typed or pasted into the field, then Enter: read it like a chosen file."""
        text = self.path.text().strip().strip("'\"")
        if text:
            self.sig_paths.emit([Path(text).expanduser()])

    def _on_add_file(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add corpus files", str(Path.home()), CORPUS_FILES)
        if files:
            self.sig_paths.emit([Path(f) for f in files])

    def _on_add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a corpus folder", str(Path.home()))
        if folder:
            self.sig_paths.emit([Path(folder)])

    def _on_demo_chosen(self, index: int) -> None:
        name = self.demo.itemData(index)
        self.demo.setCurrentIndex(0)
        if name:
            self.sig_demo.emit(name)
