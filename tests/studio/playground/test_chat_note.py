"""The Chat view's note after a message longer than the model's context, as a user sees it: the reply stopped
because the context filled up (not the limit of new tokens, which was far off), and the note's apostrophes show as
typed, never as &#x27;."""

import pytest
from PySide6 import QtGui
from PySide6.QtCore import Qt

from tests.studio.helpers import chat_run_in_playground

WAIT = 120_000
"""A hang guard only: the wait ends on a condition."""


def on_screen(label) -> str:
    """The label's text as it is drawn: as rich text when Qt takes it for rich text, else character for character."""
    rich = label.textFormat() == Qt.TextFormat.RichText or (
        label.textFormat() == Qt.TextFormat.AutoText and QtGui.Qt.mightBeRichText(label.text()))
    if not rich:
        return label.text()
    doc = QtGui.QTextDocument()
    doc.setHtml(label.text())
    return doc.toPlainText()


@pytest.mark.slow  # a tiny run trained for a few seconds, and the inference worker started
def test_a_message_longer_than_the_context_is_said_to_fill_it(qtbot, window, tmp_path):
    play = chat_run_in_playground(qtbot, window, tmp_path)
    play.temperature.setValue(0.0)
    assert play.max_tokens.value() == 200
    chat, state = play.chat, window.store.state.chat
    chat.message.setText("lamp " * 300)
    qtbot.mouseClick(chat.send_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not state.replying, timeout=WAIT)
    assert state.error == "", state.error
    shown = on_screen(chat.status)
    assert shown.startswith("The reply filled the model's context before the end of its turn. The conversation is ")
    assert "longer than this model's context of 256" in shown
    assert "limit of new tokens" not in shown and "&#x27;" not in shown and "&amp;" not in shown
