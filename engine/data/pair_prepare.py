"""A pair objective's data (seq2seq or instruct on a table of source, target pairs), read once here for
training (engine/train/pair_tasks.py) and the `prepare` and `tokenizer` commands: the tokenizer is trained
on the sources and the targets (and, for instruct, the prompt template), then the pairs are encoded, checked
against the model's lengths as data.long_pairs says, shuffled with the run's seed and split three ways."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.config.schema import RunConfig
from engine.data.chat_prepare import PreparedChats, chat_report, is_chat_corpus, prepare_chats
from engine.data.encode import cache_root
from engine.data.pairs import PROMPT_TEMPLATE, PairData, Specials, read_pairs, seq2seq_specials, split_pairs
from engine.data.tokenizer import Tokenizer, train_tokenizer


@dataclass
class PreparedPairs:
    tokenizer: Tokenizer
    data: PairData
    target_key: str
    specials: Specials


def pair_limits(cfg: RunConfig, tokenizer) -> tuple[int, int, str]:
    """The longest source and target a pair may have, in tokens, and the setting that bounds the target."""
    m = cfg.model
    if m.objective == "seq2seq":
        return m.block_size - 1, (m.target_block_size or m.block_size) - 1, "model.target_block_size"
    # instruct: the response and its <eos> beside at least the template and a token of source
    template = len(tokenizer.encode(PROMPT_TEMPLATE.format(source="")))
    return m.block_size, max(1, m.block_size - template - 2), "model.block_size"


def pair_tokenizer(cfg: RunConfig, sources: list[str], targets: list[str],
                   say: Callable[[str, str], None]) -> Tokenizer:
    """The [tokenizer] section's tokenizer trained on both sides of the pairs (a file is loaded as it is)."""
    t = cfg.tokenizer
    if t.kind == "file":
        return Tokenizer.load(t.path)
    texts = sources + targets + ([PROMPT_TEMPLATE] if cfg.model.objective == "instruct" else [])
    say("tokenizer", f"training a {t.kind} tokenizer on sources and targets")
    return train_tokenizer(t.kind, lambda: iter(texts), vocab_size=t.vocab_size, length=len(texts))


def prepare_pairs(cfg: RunConfig, *, tokenizer: Tokenizer | None = None, progress: Callable[[str, str], None] | None
                  = None, split: bool = True) -> PreparedPairs | PreparedChats | Tokenizer:
    """The pairs as training reads them (an instruct corpus of conversations as chat_prepare.py reads it); with
    split=False only the tokenizer (the `tokenizer` command)."""
    if is_chat_corpus(cfg):  # the instruct objective's other data: conversations (engine/data/chat_prepare.py)
        return prepare_chats(cfg, tokenizer=tokenizer, progress=progress, split=split)
    say = progress or (lambda stage, msg: None)
    say("load", f"reading {cfg.data.path}")
    sources, targets = read_pairs(cfg.data, cache_root(cfg))
    tokenizer = tokenizer or pair_tokenizer(cfg, sources, targets, say)
    specials = seq2seq_specials(tokenizer)  # the start and end tokens
    if not split:
        return tokenizer
    max_source, max_target, target_key = pair_limits(cfg, tokenizer)
    say("encode", f"encoding {len(sources):,} pairs")
    data = split_pairs(sources, targets, tokenizer, seed=cfg.train.seed, val_fraction=cfg.data.val_fraction,
                       test_fraction=cfg.data.test_fraction, max_source=max_source, max_target=max_target,
                       target_key=target_key, long_pairs=cfg.data.long_pairs)
    return PreparedPairs(tokenizer, data, target_key, specials)


def pair_report(cfg: RunConfig, prepared: PreparedPairs | PreparedChats) -> list[str]:
    """The statistics `prepare` prints for pairs (or conversations): the splits, the lengths, what
    data.long_pairs did."""
    if isinstance(prepared, PreparedChats):
        return chat_report(cfg, prepared)
    d, tok = prepared.data, prepared.tokenizer
    splits = (d.train, d.val, d.test)
    n = sum(len(s) for s in splits)
    lines = [f"pairs {n:,} (train {len(d.train):,}, validation {len(d.val):,}, test {len(d.test):,})"]
    for side, rows in (("source", [r for s in splits for r in s.src]), ("target", [r for s in splits for r in s.tgt])):
        lengths = sorted(len(r) for r in rows)
        lines.append(f"{side} tokens: mean {sum(lengths) / max(1, len(lengths)):.1f}, "
                     f"median {lengths[len(lengths) // 2]:,}, longest {lengths[-1]:,}")
    max_source, max_target, key = pair_limits(cfg, tok)
    lines.append(f"vocabulary {tok.vocab_size:,}")
    if d.truncated:
        lines.append(f"{d.truncated:,} source(s) longer than {max_source} tokens (model.block_size) were cut to it")
    if d.targets_cut:
        lines.append(f"{d.targets_cut:,} target(s) longer than {max_target} tokens ({key}) were cut to it "
                     f"(data.long_pairs = \"truncate\")")
    if d.dropped:
        lines.append(f"{d.dropped:,} pair(s) longer than the model takes were left out (data.long_pairs = \"drop\")")
    if not (d.truncated or d.targets_cut or d.dropped):
        lines.append(f"every pair fits (at most {max_source} source and {max_target} target tokens; "
                     f"data.long_pairs = \"{cfg.data.long_pairs}\")")
    return lines
