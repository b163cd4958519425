"""A corpus of conversations (chat data) on the Corpus page, read as the instruct objective reads it
(engine/data/chat_data.py: JSONL `messages` or ShareGPT's `conversations`): whether a source is one, its first
conversations as readable turns, and Prepare's tokenizer, trained on the conversations as the chat template renders
them, with `engine prepare`'s report. A bad conversation is refused in the engine's sentence."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from engine.config import schema as C
from engine.data.chat_data import chat_files, read_conversations
from engine.data.chat_prepare import chat_report, prepare_chats
from engine.run.humanlog import counted
from studio.state.records_corpus import SHOWN, PreparedRecords, any_context

SPEAKERS = {"system": "System", "user": "User", "assistant": "Assistant"}


def is_chat(path: str | Path) -> bool:
    """Whether the source holds conversations (its JSON or JSONL records have `messages` or `conversations`)."""
    return bool(str(path).strip()) and chat_files(str(path)) is not None


def readable(conversation: list[dict]) -> str:
    """A conversation a turn a line, each after its speaker's name."""
    return "\n".join(f"{SPEAKERS[m['role']]}: {m['content']}" for m in conversation)


@dataclass(frozen=True)
class ChatPreview:
    conversations: int
    first: list[str] = field(default_factory=list)
    """The first conversations, readable (a turn a line)."""


def preview_chats(data: C.DataConfig, shown: int = SHOWN) -> ChatPreview:
    conversations = read_conversations(data.path, data.encoding)
    return ChatPreview(len(conversations), [readable(c) for c in conversations[:shown]])


@dataclass
class PreparedChats(PreparedRecords):
    """The records: the conversations (`tokens` counts every conversation's tokens in the template)."""

    turns: int
    """The assistant's turns, which training learns."""

    noun: ClassVar[str] = "conversation"
    unit: ClassVar[str] = "conversations"

    def counted(self) -> str:
        return f"{super().counted()} ({counted(self.turns, 'assistant turn')})"


def prepare_chat_corpus(cfg: C.RunConfig, progress: Callable[[str, str], None]) -> PreparedChats:
    """Read the conversations and train the [tokenizer] section's tokenizer on them as training does;
    `progress(stage, message)` reports, and raises to cancel."""
    cfg = any_context(cfg)
    prepared = prepare_chats(cfg, progress=progress)
    splits = (prepared.data.train, prepared.data.val, prepared.data.test)
    turns = sum(m["role"] == "assistant" for s in splits for c in s.conversations for m in c)
    tokens = sum(len(idx) + 1 for s in splits for idx, _ in s.rows)
    return PreparedChats(prepared.tokenizer, tokens, chat_report(cfg, prepared)[:-1], sum(len(s) for s in splits),
                         turns)
