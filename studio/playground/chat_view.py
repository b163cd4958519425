"""The Playground's Chat view of an instruct run: a system message, the conversation as turns (you, the
assistant), a message box with Send, Stop and Reset; the reply streams into the last turn. What it shows is the
application state's conversation (studio/state/chat.py); the worker answers through studio/inference.py."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from studio.inference import chat_stream
from studio.inference_client import Request
from studio.state.chat import ChatState
from studio.widgets.run_picker import RunPicker
from studio.widgets.run_texts import unknown_note

WHO = {"user": ("You", "#1d4ed8"), "assistant": ("Assistant", "#047857")}
ERROR = "color:#b91c1c"


def _text(s: str) -> str:
    return html.escape(s).replace("\n", "<br>")


def conversation_html(state: ChatState) -> str:
    """The system message, then each turn under its speaker's name; a streaming reply ends with a cursor."""
    parts = [f"<p style='color:#6b7280'><i>System: {_text(state.system.strip())}</i></p>"] \
        if state.system.strip() and (state.turns or state.replying) else []
    turns = [(t.role, _text(t.content)) for t in state.turns]
    if state.replying:
        turns.append(("assistant", _text(state.reply) + "<span style='color:#9ca3af'>▍</span>"))
    for role, body in turns:
        name, colour = WHO[role]
        parts.append(f"<p><b style='color:{colour}'>{name}:</b> <span style='white-space:pre-wrap'>{body}</span></p>")
    return "".join(parts)


class ChatView(QWidget):
    def __init__(self, state: ChatState, picker: RunPicker, options: Callable[[], dict], parent=None):
        super().__init__(parent)
        self.state, self.picker, self.options = state, picker, options
        self.system = QPlainTextEdit(state.system)
        self.system.setObjectName("system_message")
        self.system.setPlaceholderText("A system message the conversation opens with (optional), e.g. "
                                       "\"You are the assistant of a small shop.\"")
        self.system.setMaximumHeight(56)
        self.conversation = QTextBrowser()
        self.conversation.setObjectName("conversation")
        self.conversation.setPlaceholderText("The conversation: type a message below and press Send.")
        self.message = QLineEdit()
        self.message.setObjectName("chat_message")
        self.message.setPlaceholderText("Your message (Enter sends it)")
        self.send_btn, self.stop_btn, self.reset_btn = QPushButton("Send"), QPushButton("Stop"), QPushButton("Reset")
        self.reset_btn.setToolTip("Clear the conversation and start a new one (the system message stays)")
        self.status = QLabel("")
        self.status.setObjectName("chat_status")
        self.status.setTextFormat(Qt.TextFormat.RichText)  # escaped text shows as typed, never as &#x27;
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.message, 1)
        for button in (self.send_btn, self.stop_btn, self.reset_btn):
            row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>System message</b>"))
        layout.addWidget(self.system)
        layout.addWidget(self.conversation, 1)
        layout.addLayout(row)
        layout.addWidget(self.status)
        self.stream: Request | None = None
        self.system.textChanged.connect(lambda: state.set_system(self.system.toPlainText()))
        self.message.returnPressed.connect(self.send)
        self.message.textChanged.connect(self._show_status)
        self.send_btn.clicked.connect(self.send)
        self.stop_btn.clicked.connect(self.stop)
        self.reset_btn.clicked.connect(self.reset)
        state.changed.connect(self._show)
        self._show()

    def follow(self, run) -> None:
        """The chosen run: another one ends a reply under way and starts a new conversation."""
        if run != self.state.run:
            self._drop_stream()
        self.state.follow(run)

    def send(self) -> None:
        text = self.message.text()
        if (problem := self.state.problem(text)) is not None:
            self.status.setText(f"<span style='{ERROR}'>{html.escape(problem)}</span>")
            return
        messages = self.state.ask(text)
        self.message.clear()
        options = {key: value for key, value in self.options().items() if key != "beams"}  # a reply streams
        self.stream = chat_stream(self.state.run, self.picker.checkpoint(), messages, options, parent=self)
        self.stream.sig_token.connect(self._on_token)
        self.stream.sig_done.connect(self.state.finish)
        self.stream.sig_failed.connect(self._on_failed)
        self.stream.start()

    def stop(self) -> None:
        if self.stream is not None:
            self.stream.stop()

    def reset(self) -> None:
        self._drop_stream()
        self.state.reset()

    def _drop_stream(self) -> None:
        """Nothing more of the reply under way is shown (the worker stops it at its next token)."""
        if self.stream is not None:
            self.stream.cancel()
            self.stream = None

    def _on_token(self, token: dict) -> None:
        self.state.add(token["text"])

    def _on_failed(self, message: str) -> None:
        asked = self.state.fail(message)
        if asked and not self.message.text():
            self.message.setText(asked)  # to send again

    def _show(self) -> None:
        s = self.state
        self.conversation.setHtml(conversation_html(s))
        bar = self.conversation.verticalScrollBar()
        bar.setValue(bar.maximum())
        self.send_btn.setEnabled(not s.replying)
        self.stop_btn.setEnabled(s.replying)
        self.reset_btn.setEnabled(bool(s.turns) or s.replying)
        self._show_status()

    def _show_status(self, *_) -> None:
        """How the last reply went (or why it failed), and the characters of the message the model does not know."""
        s = self.state
        unknown = unknown_note(s.run, self.message.text())
        said = (f"<span style='{ERROR}'>{html.escape(s.error)}</span>" if s.error else
                "Replying…" if s.replying else html.escape(s.note))
        note = f"<span style='color:#92400e'>{html.escape(unknown)}</span>" if unknown else ""
        self.status.setText("<br>".join(filter(None, [said, note])))
