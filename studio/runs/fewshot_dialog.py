"""The question the Few-shot panel asks before it evaluates a run: which task file (JSONL) and how many examples
in the prompt. What is typed is checked by the panel with the engine's sentences (studio/state/fewshot.py)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from studio.state.fewshot import SHOTS_TEXT

FORMAT = ("One JSON object a line: a question, and either choices with the answer (its index or its text), scored "
          "as lm-evaluation-harness scores multiple choice, or the answer alone, scored by exact match of the "
          "greedy answer.")


class FewshotDialog(QDialog):
    def __init__(self, parent, run_name: str, task: str = "", folder: Path | None = None, shots: str = SHOTS_TEXT):
        super().__init__(parent)
        self.setWindowTitle(f"Few-shot evaluation of {run_name}")
        self.folder = folder
        self.task = QLineEdit(task)
        self.task.setObjectName("fewshot_task")
        self.task.setPlaceholderText("a task file, such as fewshot-upper.jsonl")
        self.task.setMinimumWidth(420)
        self.browse_btn = QPushButton("Browse…")
        self.shots = QLineEdit(shots)
        self.shots.setObjectName("fewshot_shots")
        self.shots.setToolTip("the numbers of examples in the prompt, separated by commas; each row is asked once "
                              "for each")
        row = QHBoxLayout()
        row.addWidget(self.task, 1)
        row.addWidget(self.browse_btn)
        form = QFormLayout()
        form.addRow("Task file", row)
        form.addRow("Shots", self.shots)
        note = QLabel(FORMAT)
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.evaluate_btn = buttons.addButton("Evaluate", QDialogButtonBox.ButtonRole.AcceptRole)
        self.evaluate_btn.setObjectName("fewshot_evaluate")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.browse_btn.clicked.connect(self._browse)

    def _browse(self) -> None:
        start = self.task.text().strip() or (str(self.folder) if self.folder else "")
        path, _ = QFileDialog.getOpenFileName(self, "A few-shot task file", start, "JSONL (*.jsonl);;All files (*)")
        if path:
            self.task.setText(path)
