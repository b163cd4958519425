"""Conversations from the files people share chat data in, read as they are: JSONL (or a JSON list) whose
records hold a `messages` list of {role, content} (system, user, assistant), or ShareGPT's `conversations`
list of {from, value} (system, human, gpt). Every conversation is checked against the chat template
(engine/data/chat_template.py); the first bad one is refused in a sentence naming its file and line.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.core.errors import UserError
from engine.data.chat_template import ASSISTANT, SYSTEM, USER, check_conversation
from engine.data.files import find_corpus_files
from engine.data.pair_check import MAX_BYTES

LAYOUTS = ("messages", "conversations")
SHAREGPT_ROLES = {"system": SYSTEM, "human": USER, "user": USER, "gpt": ASSISTANT, "assistant": ASSISTANT}
"""ShareGPT's speakers (its `from`), and the role each is in the template."""
PEEK_BYTES = 1 << 20
MIN_CONVERSATIONS = 4


def chat_files(path: str) -> list[Path] | None:
    """The corpus's files when it holds conversations (JSON or JSONL whose first record has `messages` or
    `conversations`), else None."""
    try:
        files = find_corpus_files(path)
    except UserError:
        return None
    if files.saved_dataset is not None or set(files.by_builder) != {"json"}:
        return None
    tables = [f for f in files.by_builder["json"] if f.suffix.lower() in (".jsonl", ".json")]
    if not tables or len(tables) != len(files.by_builder["json"]):
        return None
    return tables if _first_record_keys(tables[0]) & set(LAYOUTS) else None


def _first_record_keys(path: Path) -> set[str]:
    try:
        with open(path, encoding="utf-8") as f:
            head = f.read(PEEK_BYTES).lstrip()
        if head.startswith("["):
            head = head[1:].lstrip()
        record, _ = json.JSONDecoder().raw_decode(head)
    except (OSError, ValueError, UnicodeDecodeError):
        return set()
    return set(record) if isinstance(record, dict) else set()


def chat_file_problems(cfg) -> list[str]:
    """What training would refuse about a corpus of conversations, found before it starts: an objective that
    does not read them, or the first bad conversation (files over MAX_BYTES are checked when the run reads them)."""
    files = chat_files(cfg.data.path) or []
    if cfg.model.objective != "instruct":
        return [f"{files[0].name} holds conversations, which the instruct objective learns (the assistant's turns): "
                f"set model.objective = \"instruct\""]
    if sum(f.stat().st_size for f in files) > MAX_BYTES:
        return []
    try:
        read_conversations(cfg.data.path, cfg.data.encoding)
    except UserError as e:
        return [str(e)]
    return []


def read_conversations(path: str, encoding: str = "utf-8") -> list[list[dict]]:
    """Every conversation of the corpus, as lists of {role, content}, in file order."""
    files = chat_files(path)
    if files is None:
        raise UserError(f"{Path(path).name} holds no conversations: a chat corpus is JSONL (or a JSON list) whose "
                        f"records hold a `messages` or a `conversations` list")
    out: list[list[dict]] = []
    for f in files:
        for where, record in _records(f, encoding):
            messages = record_messages(record, where)
            check_conversation(messages, training=True, where=where)
            out.append(messages)
    if len(out) < MIN_CONVERSATIONS:
        raise UserError(f"{Path(path).name} has {len(out)} conversation(s): too few to train and validate on")
    return out


def _records(path: Path, encoding: str):
    """(where, record) for each record: a JSONL line, or an element of a JSON list."""
    try:
        text = path.read_text(encoding=encoding)
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{path.name} cannot be read as {encoding} text: {e}") from None
    whole = _whole_json(path, text)
    if whole is not None:
        yield from ((f"{path.name} conversation {i + 1}", r) for i, r in enumerate(whole))
        return
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                yield f"{path.name} line {n}", json.loads(line)
            except ValueError as e:
                raise UserError(f"{path.name} line {n} is not valid JSON: {e}") from None


def _whole_json(path: Path, text: str) -> list | None:
    """The records of a file that is one JSON value (a list of records, or one record), or None for JSON lines
    (a .json file may hold JSON lines too)."""
    listed = text.lstrip().startswith("[")
    if not listed and path.suffix.lower() != ".json":
        return None
    try:
        value = json.loads(text)
    except ValueError as e:
        if listed:
            raise UserError(f"{path.name} is not valid JSON: {e}") from None
        return None
    return value if isinstance(value, list) else [value]


def record_messages(record, where: str) -> list[dict]:
    """One record's conversation as {role, content} messages, from either layout; the roles are checked later."""
    if isinstance(record, list):  # a bare list of messages (a history file may be one)
        record = {"messages": record}
    if not isinstance(record, dict) or not set(record) & set(LAYOUTS):
        keys = ", ".join(map(str, record)) if isinstance(record, dict) else type(record).__name__
        raise UserError(f"{where}: a conversation is a `messages` list of role/content objects or ShareGPT's "
                        f"`conversations` list of from/value objects; this record has {keys or 'nothing'}")
    if "messages" in record:
        turns = record["messages"]
        if not isinstance(turns, list):
            raise UserError(f"{where}: `messages` is a list of role/content objects, not {type(turns).__name__}")
        return [t if not isinstance(t, dict) else {"role": t.get("role"), "content": t.get("content")}
                for t in turns]
    turns = record["conversations"]
    if not isinstance(turns, list):
        raise UserError(f"{where}: `conversations` is a list of from/value objects, not {type(turns).__name__}")
    out = []
    for i, t in enumerate(turns):
        if not isinstance(t, dict):
            raise UserError(f"{where}: message {i + 1} is {type(t).__name__}, not a from/value object")
        speaker = t.get("from")
        if speaker not in SHAREGPT_ROLES:
            raise UserError(f"{where}: message {i + 1}: the speaker {speaker!r} is not one the chat template knows "
                            f"(ShareGPT's system, human, gpt)")
        out.append({"role": SHAREGPT_ROLES[speaker], "content": t.get("value")})
    return out


def read_history(path: str | Path) -> list[dict]:
    """One conversation to go on with (`chat --history`): a JSON object or a one-record JSONL file in either
    layout, or a JSON list of messages. It may end with the user's turn, and need hold no assistant turn."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"the history file {p} does not exist")
    try:
        record = json.loads(p.read_text(encoding="utf-8"))
    except ValueError:
        records = list(_records(p, "utf-8"))
        if len(records) != 1:
            raise UserError(f"{p.name} holds {len(records)} conversations: a history is one") from None
        record = records[0][1]
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"the history file {p.name} cannot be read: {e}") from None
    messages = record_messages(record, p.name)
    if messages:
        check_conversation(messages, training=False, where=p.name)
    return messages
