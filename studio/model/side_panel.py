"""The Model page's side panel: the first steps, a demo's note, the estimate card and Measure, what is fine-tuned and
the reference curve, the problems that keep Train off, and the buttons that start the designed run (Train, Add to
queue, Sweep, Run on a cluster). It shows what the page decides; the page connects its buttons."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.model.estimate_card import estimate_card
from studio.model.form_words import in_form_words


def _note(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    return label


class SidePanel(QWidget):
    def __init__(self, first_steps: QWidget, parent=None):
        super().__init__(parent)
        self.first_steps = first_steps
        self.demo_note = _note("demo_note")  # what a demo opened from the Help menu shows, and where to look
        self.demo_note.hide()
        self.card = estimate_card()
        self.measure_btn = QPushButton("Measure on this machine")
        self.measure_btn.setObjectName("measure_speed")
        self.corpus_note = _note("corpus_note")  # the Corpus page shows another corpus than the form trains on
        self.corpus_note.setStyleSheet("color: #b45309;")
        self.source_note = _note("source_note")  # what is fine-tuned
        self.reference_note = _note("reference_note")  # the curve drawn behind this run's
        self.problems = _note("problems")
        self.problems.setTextFormat(Qt.TextFormat.RichText)  # escaped text shows as typed, never as &#x27;
        self.problems.setStyleSheet("color: #b91c1c;")
        self.train_btn = QPushButton("Train")
        self.train_btn.setObjectName("train_button")
        self.train_btn.setDefault(True)
        self.queue_btn = QPushButton("Add to queue")
        self.queue_btn.setToolTip("Train this run when the runs before it in the queue have finished (Runs page)")
        self.sweep_btn = QPushButton("Sweep…")
        self.sweep_btn.setToolTip("Queue a grid or random search over chosen fields: each point a run")
        self.cluster_btn = QPushButton("Run on a cluster…")
        self.cluster_btn.setToolTip("Write a SLURM batch script for this run and follow its folder")
        side = QVBoxLayout(self)
        side.setContentsMargins(0, 0, 0, 0)
        for widget in (first_steps, self.demo_note, self.corpus_note, self.card, self.measure_btn, self.source_note, self.reference_note,
                       self.problems):
            side.addWidget(widget)
        side.addStretch()
        side.addWidget(self.train_btn)
        queue_row = QHBoxLayout()
        queue_row.addWidget(self.queue_btn)
        queue_row.addWidget(self.sweep_btn)
        side.addLayout(queue_row)
        side.addWidget(self.cluster_btn)

    def show_demo_note(self, text: str) -> None:
        self.demo_note.setText(text)
        self.demo_note.setVisible(bool(text))

    def show_problems(self, problems: list[str]) -> None:
        """The engine's refusals in the form's words, one bullet each; Train's tooltip says why it is off."""
        self.problems.setText("<br>".join(f"• {html.escape(in_form_words(p))}" for p in problems))
        self.train_btn.setToolTip("Fix the problems listed above first" if problems else "Start training")
