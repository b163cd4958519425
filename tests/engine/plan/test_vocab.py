"""The dial's vocabulary (engine/plan/vocab.py): a trained tokenizer's size chosen from the corpus's, under a time
budget only, and what the user set kept."""

import math

from engine.config.schema import RunConfig
from engine.plan.budget import derive, set_fields
from engine.plan.vocab import VOCAB_KEY, VOCAB_PER_ROOT_BYTE, VOCAB_RANGE, choose_vocab, dial_vocab


def budgeted(kind: str = "bpe", seconds: float = 60, **model) -> RunConfig:
    cfg = RunConfig()
    cfg.data.path, cfg.tokenizer.kind, cfg.train.time_budget = "x.txt", kind, seconds
    for key, value in model.items():
        setattr(cfg.model, key, value)
    return cfg


def test_the_vocabulary_grows_as_the_square_root_of_the_corpus_within_the_range():
    sizes = [2_000, 60_000, 250_000, 820_929, 1_115_394, 4_000_000, 10**8, 10**10]
    vocabs = [dial_vocab(n) for n in sizes]
    assert vocabs == sorted(vocabs) and vocabs[0] == VOCAB_RANGE[0] and vocabs[-1] == VOCAB_RANGE[1]
    assert vocabs[1:6] == [2048, 4096, 8192, 8192, 16384]  # the sizes measured best (bench/README.md)
    for n, v in zip(sizes, vocabs):
        assert v & (v - 1) == 0  # a power of two
        if VOCAB_RANGE[0] < v < VOCAB_RANGE[1]:  # the nearest to 8 x sqrt(bytes), on a log scale
            assert abs(math.log2(v) - math.log2(VOCAB_PER_ROOT_BYTE * math.sqrt(n))) <= 0.5


def test_the_dial_sizes_a_trained_tokenizer_of_a_token_stream_only_under_a_budget():
    assert choose_vocab(budgeted(), 1_115_394)["value"] == dial_vocab(1_115_394)
    assert "MB of text" in choose_vocab(budgeted("unigram"), 1_115_394)["why"]
    assert choose_vocab(budgeted("char"), 1_115_394) is None  # a char vocabulary is the corpus's characters
    assert choose_vocab(budgeted("file"), 1_115_394) is None
    assert choose_vocab(budgeted(seconds=0), 1_115_394) is None
    assert choose_vocab(budgeted(objective="classify"), 1_115_394) is None
    assert choose_vocab(budgeted(), None) is None
    tuned = budgeted()
    tuned.finetune.source = "runs/base"
    assert choose_vocab(tuned, 1_115_394) is None  # a fine-tune keeps its source's tokenizer


def test_a_vocabulary_the_user_set_is_kept_and_said_so():
    cfg = budgeted()
    cfg.tokenizer.vocab_size = 3000
    assert VOCAB_KEY in set_fields(cfg)
    assert choose_vocab(cfg, 1_115_394) == {"value": 3000, "why": "set in the config"}


def test_derive_carries_the_choice_with_the_rest_of_the_dial():
    cfg = budgeted()
    plan = derive(cfg, vocab_size=8192, step_seconds=lambda trial: 0.01, corpus_tokens=300_000, val_tokens=30_000,
                  corpus_bytes=1_115_394)
    assert plan.choices[VOCAB_KEY]["value"] == dial_vocab(1_115_394)
    plan.apply(cfg)
    assert cfg.tokenizer.vocab_size == dial_vocab(1_115_394)
    without = derive(budgeted(), vocab_size=8192, step_seconds=lambda trial: 0.01, corpus_tokens=300_000)
    assert VOCAB_KEY not in without.choices  # no size known: the vocabulary stays as configured
