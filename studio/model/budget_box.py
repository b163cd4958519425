"""The time budget on the Model page's form: the fields the one dial chooses show its choice, and their labels and
tooltips say so and why; a field the user set says it is theirs; under the Time budget field, every choice with
its reason. What the dial chooses is decided without Qt (studio/state/budget.py); this only shows it."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt

from studio.model.form import ConfigForm
from studio.model.form_words import FORM_LABELS
from studio.state.budget import BUDGET_KEY, DIAL_KEYS, KEPT, BudgetDial, DialPlan, value
from studio.state.design import Design
from studio.widgets.wrapped_label import WrappedLabel

NOTES = {"warmup": "Warm-up", "decay": "Decay", "expected": "Expected"}
"""The choices that are no field of the form: the schedule's phases, what the run is expected to see."""
CHOSEN, YOURS = "by the budget", "yours"
"""What a field's label adds, in brackets, while a budget is set."""


class BudgetMarks:
    def __init__(self, form: ConfigForm, dial: BudgetDial) -> None:
        self.form, self.dial = form, dial
        self.keys = [tuple(k.split(".")) for k in DIAL_KEYS]
        self.labels = {k: form.forms[k].labelForField(form.widget(*k)) for k in self.keys}
        self.texts = {k: label.text() for k, label in self.labels.items()}
        self.notes: dict[tuple[str, str], str] = {}
        """The note each field's tooltip starts with now (its own help follows)."""
        self.choices = WrappedLabel()
        self.choices.setObjectName("budget_choices")
        self.choices.setTextFormat(Qt.TextFormat.RichText)
        self.choices.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.forms[tuple(BUDGET_KEY.split("."))].addRow(self.choices)
        self.choices.hide()

    def show(self, d: Design) -> None:
        """Put the dial's choices in the fields it chooses (and give back those it no longer does), quietly: the
        design already counts them."""
        plan = d.budget
        if plan is None:
            return
        now, _ = self.form.config()
        fill = self.dial.filled(plan, now)
        self.form.set_values({k: v for k, v in fill.items() if value(now, k) != v})
        for key in self.keys:
            self._mark(key, self._note(".".join(key), plan))
        self.choices.setText(choices_text(plan))
        self.choices.setVisible(bool(plan.seconds))

    def _note(self, key: str, plan: DialPlan) -> tuple[str, str]:
        """(what the label adds, what the tooltip says first) for one of the dial's fields."""
        if key in plan.owned and key in plan.user:
            return CHOSEN, (f"Chosen by the time budget: {plan.choices[key]['why']}. The value you set is this "
                            f"field's default, which the engine reads as unset: set another to keep yours.")
        if key in plan.owned:
            return CHOSEN, f"Chosen by the time budget: {plan.choices[key]['why']}. Change it to set it yourself."
        if key in plan.user and plan.seconds:
            return YOURS, "Set by you: the time budget leaves it as it is."
        return "", ""

    def _mark(self, key: tuple[str, str], note: tuple[str, str]) -> None:
        added, tip = note
        self.labels[key].setText(f"{self.texts[key]} ({added})" if added else self.texts[key])
        widget = self.form.widget(*key)
        own = widget.toolTip().removeprefix(self.notes.get(key, "")).lstrip("\n")  # its help (a hint may change it)
        self.notes[key] = tip
        widget.setToolTip("\n\n".join(filter(None, [tip, own])))


def choices_text(plan: DialPlan) -> str:
    """Every choice of the dial, a line each, with its reason; the fields left to the user say so."""
    if plan.waiting and not plan.choices:
        return html.escape(plan.waiting[0].upper() + plan.waiting[1:] + ".")
    lines = []
    for key, choice in plan.choices.items():
        if key == BUDGET_KEY:
            continue
        name = NOTES.get(key) or FORM_LABELS.get(key, key)
        why = "yours" if key in plan.user and choice["why"] == KEPT else choice["why"]
        lines.append(f"• <b>{html.escape(name)}</b> {html.escape(str(choice['value']))}: {html.escape(why)}")
    head = "<b>The time budget chooses</b> (a field you change stays yours):"
    waiting = f"<br><i>{html.escape(plan.waiting)}</i>" if plan.waiting else ""
    return "<br>".join([head, *lines]) + waiting
