"""Sweep…: which fields of the run to vary and how (a grid of every combination, or random points), the
number of runs it makes, and every problem before anything is queued. The engine expands and validates
the points (engine/runqueue/sweep.py); each becomes a normal run in the queue."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
)

from engine.core.errors import ConfigError, UserError
from engine.core.tomlio import parse_toml
from engine.runqueue.sweep import Sweep, point_configs, sweep_problems

FIELDS = ["train.lr", "train.batch_size", "train.weight_decay", "train.warmup_steps", "train.max_steps",
          "train.optimizer", "train.grad_clip", "train.seed", "model.n_layer", "model.n_head", "model.n_embd",
          "model.block_size", "model.dropout", "model.position", "model.norm", "model.mlp"]
ROWS = 3


def parse_values(text: str):
    """"1e-3, 3e-4" -> a list; "1e-4 .. 1e-2" -> a range; "log 1e-4 .. 1e-2" -> a log range."""
    text = text.strip()
    log = text.startswith("log ")
    body = text[4:] if log else text
    if ".." in body:
        lo, hi = (_value(part) for part in body.split("..", 1))
        return {"min": lo, "max": hi, "log": log}
    return [_value(part) for part in body.split(",") if part.strip()]


def _value(text: str):
    try:
        return parse_toml(f"v = {text.strip()}")["v"]
    except UserError:
        return text.strip()  # a word: position = rope


class SweepDialog(QDialog):
    def __init__(self, parent, base):
        super().__init__(parent)
        self.base, self.configs = base, []
        self.setWindowTitle("Sweep")
        self.name = QLineEdit(f"{base.name or 'run'}-sweep")
        self.method = QComboBox()
        self.method.addItems(["grid", "random"])
        self.samples = QSpinBox(minimum=1, maximum=1000, value=8)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        grid = QGridLayout()
        grid.addWidget(QLabel("Field"), 0, 0)
        grid.addWidget(QLabel("Values: 1e-3, 3e-4 · a range 1e-4 .. 1e-2 · log 1e-4 .. 1e-2 (random)"), 0, 1)
        self.rows = []
        for i in range(ROWS):
            field = QComboBox(editable=True)
            field.addItems([""] + FIELDS)
            values = QLineEdit()
            grid.addWidget(field, i + 1, 0)
            grid.addWidget(values, i + 1, 1)
            self.rows.append((field, values))
        self.rows[0][0].setCurrentText("train.lr")
        self.summary = QLabel()
        self.summary.setObjectName("sweep_summary")
        self.summary.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Sweep name", self.name)
        form.addRow("Search", self.method)
        form.addRow("Random points", self.samples)
        form.addRow(grid)
        form.addRow(self.summary)
        form.addRow(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        for w in (self.name.textChanged, self.method.currentTextChanged, self.samples.valueChanged,
                  *[sig for f, v in self.rows for sig in (f.currentTextChanged, v.textChanged)]):
            w.connect(self._check)
        self._check()

    def sweep(self) -> Sweep:
        fields = {f.currentText().strip(): parse_values(v.text()) for f, v in self.rows
                  if f.currentText().strip() and v.text().strip()}
        return Sweep(name=self.name.text().strip() or "sweep", base=self.base, method=self.method.currentText(),
                     fields=fields, samples=self.samples.value())

    def _check(self, *_) -> None:
        self.samples.setEnabled(self.method.currentText() == "random")
        s = self.sweep()
        problems = sweep_problems(s)
        self.configs = []
        if not problems:
            try:
                self.configs = point_configs(s)
            except ConfigError as e:
                problems = e.problems
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(not problems)
        ok.setText(f"Queue {len(self.configs)} runs" if self.configs else "Queue")
        self.summary.setStyleSheet("color: #b91c1c;" if problems else "")
        self.summary.setText("\n".join(problems[:6]) if problems else
                             f"{len(self.configs)} runs named {s.name}-000 … each a normal run in the queue; the "
                             f"Runs page groups them and plots their final validation loss against each field.")
