"""What a first start says to do: three steps, shown where the user looks until the workspace has a run."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

STEPS = ("Pick your text on the <b>Corpus</b> page",
         "Choose a size on the <b>Model</b> page: a preset or the fields",
         "Press <b>Train</b>")
KEEP_DEMO = " (or keep the demo's)"
"""Said after the first step only while the form holds the demo."""

DEMO = ("The form holds the <b>demo</b>: a small model of the Python standard library's own source code, "
        "which trains in minutes on this computer. Press Train to watch it learn, or make it yours:")


def steps_html(*, demo: bool = False) -> str:
    """The three steps as a short numbered list, with what the demo is when the form holds it."""
    lead = DEMO if demo else "<b>Your first model, in three steps:</b>"
    steps = (STEPS[0] + (KEEP_DEMO if demo else ""), *STEPS[1:])
    return lead + "".join(f"<br>{i}. {step}" for i, step in enumerate(steps, 1))


def steps_line() -> str:
    """The three steps on one line (a page's empty header)."""
    return "<b>No run yet.</b> " + " &nbsp;·&nbsp; ".join(f"{i}. {step}" for i, step in enumerate(STEPS, 1))


class FirstSteps(QLabel):
    """The steps on the Model page: shown while the workspace has no run, saying what the demo is while the
    form holds it (`holds_demo()`, asked again by update_steps whenever the form or its run name changes)."""

    def __init__(self, store, name_field, holds_demo, parent=None):
        super().__init__(parent)
        self.store, self.holds_demo = store, holds_demo
        self.setObjectName("first_steps")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setStyleSheet("background: #eff6ff; border: 1px solid #bfdbfe; border-radius: 6px; padding: 8px;")
        store.sig_runs_changed.connect(self.update_steps)
        name_field.textChanged.connect(self.update_steps)
        self.update_steps()

    def update_steps(self, *_) -> None:
        first = not getattr(self.store, "runs", {})
        self.setVisible(first)
        if first:
            self.setText(steps_html(demo=self.holds_demo()))
