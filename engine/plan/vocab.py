"""The dial's vocabulary, its pure parts: which runs it sizes a tokenizer for (a trained one, bpe, wordpiece or
unigram, under a time budget; a char vocabulary is the corpus's characters, a tokenizer file is used as it is) and
the largest size a corpus supports. The choice itself forecasts each size's run (engine/plan/budget.py
`choose_vocab`), before the corpus is encoded, so the studio's plan and the engine's start choose the same.

A larger vocabulary makes each token cover more text (more of it in a context, fewer steps to read the corpus) but
costs a larger output layer, and each entry is seen less often. Measured in bits per character on text its
tokenizer did not learn from (bench/README.md, "The vocabulary the dial chooses"), the best size for 60 KB of prose
was 2,048 and for 250 KB 4,096: it grows about as the square root of the corpus, as the number of distinct words in
a text does (Heaps' law), so a corpus supports the power of two nearest VOCAB_PER_ROOT_BYTE x sqrt(bytes)."""

from __future__ import annotations

import math

from engine.config.schema import STREAM_OBJECTIVES, TRAINED_TOKENIZERS, RunConfig, TokenizerConfig

VOCAB_KEY = "tokenizer.vocab_size"
VOCAB_PER_ROOT_BYTE = 8.0
VOCAB_RANGE = (512, 32768)


def vocab_given(cfg: RunConfig) -> bool:
    """The user set the vocabulary (a value off its default, as the dial reads every field)."""
    return cfg.tokenizer.vocab_size != TokenizerConfig().vocab_size


def corpus_vocab(corpus_bytes: int) -> int:
    """The largest vocabulary a corpus supports: the power of two nearest VOCAB_PER_ROOT_BYTE x sqrt(bytes), within
    VOCAB_RANGE."""
    target = VOCAB_PER_ROOT_BYTE * math.sqrt(max(1, corpus_bytes))
    return min(max(1 << round(math.log2(target)), VOCAB_RANGE[0]), VOCAB_RANGE[1])


def sizes_vocab(cfg: RunConfig) -> bool:
    """The dial has a vocabulary to size: a time budget, a tokenizer trained to a size, a token stream's objective,
    the model's vocabulary left to the tokenizer, and no fine-tuning source (whose tokenizer the run keeps)."""
    return bool(cfg.train.time_budget and cfg.tokenizer.kind in TRAINED_TOKENIZERS and not cfg.finetune.source
                and cfg.model.objective in STREAM_OBJECTIVES and not cfg.model.vocab_size)
