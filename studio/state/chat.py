"""The Playground's conversation with an instruct run, without Qt: the system message, the turns so far and the
reply as it streams. The messages the worker answers (engine/worker/chat.py) are built here, and a message the
chat template would refuse is said in a sentence before anything is sent. A conversation belongs to the run it is
held with: choosing another run starts a new one (another checkpoint of the same run goes on with it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.core.errors import UserError
from engine.data.chat_template import ASSISTANT, SYSTEM, USER, message_problem
from studio.state.events import Event

NO_REPLY = "…"
"""An assistant turn stopped before its first token holds this (the template takes no empty turn)."""
ENDINGS = {"stopped": "The reply was stopped.",
           "length": "The reply reached the limit of new tokens before the end of its turn.",
           "context": "The reply filled the model's context before the end of its turn."}
"""What the state line says after a reply that did not end at its end-of-turn token."""


@dataclass(frozen=True)
class Turn:
    role: str
    """user or assistant"""
    content: str


class ChatState:
    def __init__(self) -> None:
        self.changed = Event()
        """() a turn, the streaming reply, the run, the system message or a note changed."""
        self.run: Path | None = None
        self.system = ""
        """The system message the conversation opens with ("" for none): the next reply reads it as it is then."""
        self.turns: list[Turn] = []
        self.reply: str | None = None
        """The assistant's reply so far while it streams, else None."""
        self.note = ""
        """What the last reply left to say (stopped, cut to the context), or ""."""
        self.error = ""
        """Why the last message got no reply, in words, or ""."""

    @property
    def replying(self) -> bool:
        return self.reply is not None

    def follow(self, run: Path | str | None) -> None:
        """The chosen run: another one starts a new conversation; the same one keeps its history."""
        run = Path(run) if run else None
        if run != self.run:
            self.run = run
            self.reset()

    def set_system(self, text: str) -> None:
        """The conversation shows the system message as it is now: the one the next reply reads with every turn."""
        if text != self.system:
            self.system = text
            self.changed.emit()

    def problem(self, text: str) -> str | None:
        """Why `text` cannot be sent now, as a sentence, or None."""
        if self.run is None:
            return "Choose an instruct run with a checkpoint first."
        if self.replying:
            return "Wait for the reply (or stop it) before sending another message."
        if not text.strip():
            return "Type a message first."
        for role, content, where in ((USER, text, "Your message"), (SYSTEM, self.system, "The system message")):
            said = message_problem({"role": role, "content": content.strip()}) if content.strip() else None
            if said:
                return f"{where} cannot be sent: {said}."
        return None

    def messages(self) -> list[dict]:
        """The conversation as the worker takes it: the system message (when one is written), then every turn."""
        opening = [{"role": SYSTEM, "content": self.system.strip()}] if self.system.strip() else []
        return opening + [{"role": t.role, "content": t.content} for t in self.turns]

    def ask(self, text: str) -> list[dict]:
        """The user's message joins the conversation and the reply begins; returns the messages to answer."""
        if (said := self.problem(text)) is not None:
            raise UserError(said)
        self.turns.append(Turn(USER, text.strip()))
        self.reply, self.note, self.error = "", "", ""
        self.changed.emit()
        return self.messages()

    def add(self, text: str) -> None:
        """A token of the reply came."""
        if self.replying:
            self.reply += text
            self.changed.emit()

    def finish(self, result: dict) -> None:
        """The reply ended (the worker's result: reason, the whole reply, and a sentence when the conversation was
        cut to the model's context): it becomes the assistant's turn."""
        if not self.replying:
            return
        reply = (result.get("reply") or self.reply).strip() or NO_REPLY
        self.turns.append(Turn(ASSISTANT, reply))
        self.reply = None
        cut = result.get("cut")
        self.note = " ".join(filter(None, [ENDINGS.get(result.get("reason"), ""),
                                           f"{cut[:1].upper()}{cut[1:]}." if cut else ""]))
        self.changed.emit()

    def fail(self, message: str) -> str:
        """The reply failed: the unanswered message leaves the conversation and is given back (to send again)."""
        if not self.replying:
            return ""
        asked = self.turns.pop().content if self.turns and self.turns[-1].role == USER else ""
        self.reply, self.error = None, message
        self.changed.emit()
        return asked

    def reset(self) -> None:
        """A new conversation with the same run: no turns (the system message stays, as it is a setting)."""
        self.turns, self.reply, self.note, self.error = [], None, "", ""
        self.changed.emit()
