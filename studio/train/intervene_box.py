"""The Train page's Intervene box: freeze, zero or re-initialise a head, an attention, an MLP or a layer of the run
that trains, before its next step. What it lists, whether it is open and the request it sends are decided in
studio/state/interventions.py; the trainer's answer comes back as an event and shows in the box's line."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout

from engine.core.errors import UserError
from studio.model.form_words import in_form_words
from studio.state.interventions import ACTION_WORDS, box_status, intervene_box, send


class InterveneBox(QGroupBox):
    def __init__(self, parent=None):
        super().__init__("Intervene", parent)
        self.setObjectName("intervene_box")
        self.action = QComboBox()
        self.action.setObjectName("intervene_action")
        for action, words in ACTION_WORDS.items():
            self.action.addItem(words, action)
        self.part = QComboBox()
        self.part.setObjectName("intervene_part")
        self.part.setMinimumContentsLength(16)
        self.apply_btn = QPushButton("Apply")
        self.apply_btn.setObjectName("intervene_apply")
        self.said = QLabel("")
        self.said.setObjectName("intervene_status")
        self.said.setWordWrap(True)
        self.said.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row = QHBoxLayout()
        for w in (self.action, self.part, self.apply_btn):
            row.addWidget(w)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addLayout(row)
        layout.addWidget(self.said)
        self.run, self.cfg, self._parts = None, None, []
        self._asked: tuple[float, str] | None = None  # the request sent, until the trainer's answer is newer
        self._error = ""
        self.apply_btn.clicked.connect(self._on_apply_clicked)
        self.show_run(None, training=False)

    def show_run(self, run, *, training: bool, paused: bool = False) -> None:
        """The box for `run` (None: no run shown), which trains now or not."""
        if run is not self.run:
            self._asked, self._error = None, ""
        self.run = run
        self.cfg = run.summary.config if run is not None else None
        box = intervene_box(self.cfg, training=training, paused=paused)
        if box.parts != self._parts:
            kept = self.part.currentText()
            self._parts = box.parts
            self.part.clear()
            self.part.addItems(box.parts)
            if kept in box.parts:
                self.part.setCurrentText(kept)
        for w in (self.action, self.part, self.apply_btn):
            w.setEnabled(box.enabled)
        why = in_form_words(box.why)  # config keys as the Model page's labels, the key in brackets
        self.setToolTip(why)
        self.apply_btn.setToolTip(why)
        self._show_status()

    def _show_status(self) -> None:
        run = self.run
        if run is None:
            self.said.setText("")
            return
        step = run.last_step.step if run.last_step else 0
        text = self._error or box_status(run.interventions, run.markers, self.cfg, step or 0, self._asked)
        self.said.setStyleSheet("color: #b91c1c;" if self._error else "color: #0f766e;")
        self.said.setText(in_form_words(text))

    def _on_apply_clicked(self) -> None:
        if self.run is None or self.cfg is None:
            return
        action, target = self.action.currentData(), self.part.currentText()
        try:
            self._asked, self._error = (time.time(), send(self.run.path, self.cfg, action, target)), ""
        except UserError as e:
            self._error = f"{str(e)[:1].upper()}{str(e)[1:]}."
        except OSError as e:
            self._error = f"Could not write the request into {self.run.path}: {e.strerror or e}."
        self._show_status()
