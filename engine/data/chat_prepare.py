"""The instruct objective's data when its corpus holds conversations (engine/data/chat_data.py), read once here
for training (engine/train/chat_task.py) and the `prepare` and `tokenizer` commands: the tokenizer is trained
on the conversations as the template renders them, each conversation is encoded whole with its assistant
tokens marked (engine/data/chat_encode.py), fitted to the context as data.long_pairs says, then the
conversations are shuffled with the run's seed and split three ways, as pairs are."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.config.schema import RunConfig
from engine.data.chat_data import chat_files, read_conversations
from engine.data.chat_encode import Turn, encode_conversations, fit_rows, held_out_turns
from engine.data.chat_template import TEMPLATE
from engine.data.pairs import Specials, seq2seq_specials, three_way
from engine.data.tokenizer import Tokenizer, train_tokenizer


def is_chat_corpus(cfg: RunConfig) -> bool:
    """An instruct run whose corpus holds conversations rather than source -> target pairs."""
    return cfg.model.objective == "instruct" and chat_files(cfg.data.path) is not None


@dataclass
class ChatSplit:
    name: str
    conversations: list[list[dict]]
    rows: list[tuple[list[int], list[int]]]
    """(idx, targets) of each conversation; targets are -100 but on the assistant's tokens."""
    turns: list[Turn] = field(default_factory=list)
    """Every assistant turn with its history's prompt (validation and test only)."""

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class ChatData:
    train: ChatSplit
    val: ChatSplit
    test: ChatSplit
    cut: int = 0
    """Conversations cut to the context (data.long_pairs = "truncate")."""
    dropped: int = 0
    """Conversations left out for being too long (data.long_pairs = "drop", or nothing learnt left once cut)."""


@dataclass
class PreparedChats:
    tokenizer: Tokenizer
    data: ChatData
    specials: Specials


def chat_tokenizer(cfg: RunConfig, conversations: list[list[dict]], say: Callable[[str, str], None]) -> Tokenizer:
    """The [tokenizer] section's tokenizer trained on the rendered conversations, markers and all (a file is
    loaded as it is)."""
    t = cfg.tokenizer
    if t.kind == "file":
        return Tokenizer.load(t.path)
    texts = [TEMPLATE.render(c) for c in conversations]
    say("tokenizer", f"training a {t.kind} tokenizer on {len(texts):,} conversations")
    return train_tokenizer(t.kind, lambda: iter(texts), vocab_size=t.vocab_size, length=len(texts))


def prepare_chats(cfg: RunConfig, *, tokenizer: Tokenizer | None = None,
                  progress: Callable[[str, str], None] | None = None, split: bool = True) -> PreparedChats | Tokenizer:
    """The conversations as training reads them; with split=False only the tokenizer (the `tokenizer` command)."""
    say = progress or (lambda stage, msg: None)
    say("load", f"reading {cfg.data.path}")
    conversations = read_conversations(cfg.data.path, cfg.data.encoding)
    tokenizer = tokenizer or chat_tokenizer(cfg, conversations, say)
    specials = seq2seq_specials(tokenizer)  # [PAD] and <eos>, the end of every assistant turn
    if not split:
        return tokenizer
    say("encode", f"encoding {len(conversations):,} conversations")
    encoded = encode_conversations(tokenizer, conversations)
    kept, cut, dropped = fit_rows(encoded, cfg.model.block_size, cfg.data.long_pairs, Path(cfg.data.path).name)
    parts = three_way(len(kept), seed=cfg.train.seed, val_fraction=cfg.data.val_fraction,
                      test_fraction=cfg.data.test_fraction, what="conversations")

    def part(rows, name: str) -> ChatSplit:
        chosen = [conversations[kept[i]] for i in rows]
        turns = held_out_turns(tokenizer, chosen) if name != "train" else []
        return ChatSplit(name, chosen, [encoded[kept[i]].row() for i in rows], turns)

    data = ChatData(*(part(rows, name) for rows, name in zip(parts, ("train", "val", "test"))), cut=cut,
                    dropped=dropped)
    return PreparedChats(tokenizer, data, specials)


def chat_report(cfg: RunConfig, prepared: PreparedChats) -> list[str]:
    """The statistics `prepare` prints for conversations: the splits, the lengths, what data.long_pairs did."""
    d, tok = prepared.data, prepared.tokenizer
    splits = (d.train, d.val, d.test)
    rows = [r for s in splits for r in s.rows]
    lengths = sorted(len(idx) + 1 for idx, _ in rows)
    learnt = sum(sum(t != -100 for t in targets) for _, targets in rows)
    turns = sum(m["role"] == "assistant" for s in splits for c in s.conversations for m in c)
    lines = [f"conversations {len(rows):,} (train {len(d.train):,}, validation {len(d.val):,}, test {len(d.test):,})",
             f"assistant turns {turns:,}; tokens learnt {learnt:,} of {sum(lengths):,} "
             f"({learnt / max(1, sum(lengths)):.0%}: the assistant's, each turn with its end)",
             f"tokens a conversation: mean {sum(lengths) / max(1, len(lengths)):.1f}, "
             f"median {lengths[len(lengths) // 2]:,}, longest {lengths[-1]:,}",
             f"vocabulary {tok.vocab_size:,}"]
    if d.cut:
        lines.append(f"{d.cut:,} conversation(s) longer than {cfg.model.block_size + 1} tokens were cut to it "
                     f"(data.long_pairs = \"truncate\")")
    if d.dropped:
        lines.append(f"{d.dropped:,} conversation(s) longer than the model takes were left out")
    if not (d.cut or d.dropped):
        lines.append(f"every conversation fits (at most {cfg.model.block_size + 1} tokens; data.long_pairs = "
                     f"\"{cfg.data.long_pairs}\")")
    return lines
