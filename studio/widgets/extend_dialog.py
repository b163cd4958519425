"""Asking how long to train a finished run, for the Train and Runs pages alike."""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog


def ask_total_steps(parent, current: int) -> int | None:
    """The new total number of steps (more than `current`), or None if the user cancels."""
    question = (f"Train to this many steps in all (now {current}).\nThe extra steps train at the final learning "
                "rate (the decay is not stretched again):")
    steps, ok = QInputDialog.getInt(parent, "Extend the run", question,
                                    current * 2, current + 1, 10_000_000)
    return steps if ok else None
