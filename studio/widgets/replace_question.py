"""The question asked before anything replaces fields the user edited on the Model page: Replace or Cancel."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from studio.model.edits import edits_text

REPLACE = "Replace"


def may_replace(parent, action: str, edited: list[str]) -> bool:
    """True when nothing the user typed would be lost, or when they chose Replace; `action` says what would
    replace the form ("Open the demo")."""
    if not edited:
        return True
    box = QMessageBox(parent)
    box.setObjectName("replace_question")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(action)
    box.setText(f"{action} replaces your edits to {edits_text(edited)}, which are not saved.")
    box.setInformativeText("Replace them, or Cancel and keep the form as it is (File → Save run config keeps "
                           "it in a file first).")
    replace = box.addButton(REPLACE, QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.exec()
    return box.clickedButton() is replace
