"""The loss-spike doctor's note above the Train page's plots: the newest spike's step, its likely cause and a fix
(studio/state/doctor.py words it; config keys as the form's labels), the numbers read at it in the tooltip; hidden
while no spike was diagnosed."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QLabel

from studio.model.form_words import in_form_words
from studio.state.doctor import doctor_note


class DoctorLabel(QLabel):
    def __init__(self, parent=None):
        super().__init__("", parent)
        self.setObjectName("doctor_note")
        self.setWordWrap(True)
        self.setStyleSheet("color: #92400e; background: #fef3c7; padding: 3px 6px; border-radius: 3px;")
        self.setVisible(False)

    def show_run(self, run) -> None:
        note = doctor_note(run.diagnoses) if run is not None else None
        self.setVisible(note is not None)
        self.setText(f"<b>Doctor</b>: {html.escape(in_form_words(note.text))}" if note else "")
        self.setToolTip(note.detail if note else "")
