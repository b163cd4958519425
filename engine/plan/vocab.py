"""The dial's vocabulary: how many tokens a tokenizer trained for a run with a time budget learns (bpe, wordpiece,
unigram; a char vocabulary is the corpus's characters, a tokenizer file is used as it is), chosen from the corpus's
size before it is encoded, so that the studio's plan and the engine's start choose the same. Pure functions.

A larger vocabulary makes each token cover more text (more of it in a context, fewer steps to read the corpus) but
costs a larger output layer, and each entry is seen less often. Measured in bits per character under the same
budget on four corpora (bench/README.md, "The vocabulary the dial chooses"), the best size grew about as the
square root of the corpus's size (8,192 for 0.8-1.1 MB, 4,096 for 250 KB), as the number of distinct words in a
text does (Heaps' law): the dial takes the power of two nearest VOCAB_PER_ROOT_BYTE x sqrt(bytes)."""

from __future__ import annotations

import math

from engine.config.schema import STREAM_OBJECTIVES, TRAINED_TOKENIZERS, RunConfig, TokenizerConfig

VOCAB_KEY = "tokenizer.vocab_size"
VOCAB_PER_ROOT_BYTE = 8.0
VOCAB_RANGE = (512, 32768)


def vocab_given(cfg: RunConfig) -> bool:
    """The user set the vocabulary (a value off its default, as the dial reads every field)."""
    return cfg.tokenizer.vocab_size != TokenizerConfig().vocab_size


def dial_vocab(corpus_bytes: int) -> int:
    """The power of two nearest VOCAB_PER_ROOT_BYTE x sqrt(corpus_bytes), within VOCAB_RANGE."""
    target = VOCAB_PER_ROOT_BYTE * math.sqrt(max(1, corpus_bytes))
    return min(max(1 << round(math.log2(target)), VOCAB_RANGE[0]), VOCAB_RANGE[1])


def sizes_vocab(cfg: RunConfig) -> bool:
    """The dial has a vocabulary to size: a time budget, a tokenizer trained to a size, a token stream's objective,
    and no fine-tuning source (whose tokenizer the run keeps)."""
    return bool(cfg.train.time_budget and cfg.tokenizer.kind in TRAINED_TOKENIZERS and not cfg.finetune.source
                and cfg.model.objective in STREAM_OBJECTIVES)


def choose_vocab(cfg: RunConfig, corpus_bytes: int | None, *, given: bool | None = None) -> dict | None:
    """{"value", "why"} for `tokenizer.vocab_size` under `cfg.train.time_budget`, or None where the dial leaves it
    (`sizes_vocab`, or no size known). `given`: the user set it (default: `vocab_given`), kept and said so."""
    t = cfg.tokenizer
    if not corpus_bytes or not sizes_vocab(cfg):
        return None
    if vocab_given(cfg) if given is None else given:
        return {"value": t.vocab_size, "why": "set in the config"}
    value = dial_vocab(corpus_bytes)
    bound = " (the smallest the dial takes)" if value == VOCAB_RANGE[0] else \
        " (the largest the dial takes)" if value == VOCAB_RANGE[1] else ""
    return {"value": value, "why": f"a {t.kind} vocabulary for {corpus_bytes / 1e6:.3g} MB of text: the power of two "
                                   f"nearest {VOCAB_PER_ROOT_BYTE:g} x sqrt(bytes){bound}, the size measured best "
                                   f"for a corpus's size"}
