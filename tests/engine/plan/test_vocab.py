"""The dial's vocabulary (engine/plan/vocab.py, engine/plan/budget.py `choose_vocab`): a trained tokenizer's size
chosen, under a time budget only, as the largest the budget shows each entry often enough and the corpus supports;
what the user set is kept."""

import math

from engine.config.schema import RunConfig
from engine.plan.budget import SEEN_PER_ENTRY, choose_vocab, derive, set_fields
from engine.plan.estimate import estimate
from engine.plan.vocab import VOCAB_KEY, VOCAB_PER_ROOT_BYTE, VOCAB_RANGE, corpus_vocab

PROSE = 1_115_394


def budgeted(kind: str = "bpe", seconds: float = 60, **model) -> RunConfig:
    cfg = RunConfig()
    cfg.data.path, cfg.tokenizer.kind, cfg.train.time_budget = "x.txt", kind, seconds
    for key, value in model.items():
        setattr(cfg.model, key, value)
    return cfg


def step_seconds(trial: RunConfig) -> float:
    return estimate(trial, vocab_size=8192, peak_flops=1.4e11).seconds_per_step


def chosen(cfg: RunConfig, corpus_bytes: int | None = PROSE, **options) -> dict | None:
    return choose_vocab(cfg, corpus_bytes, step_seconds=step_seconds, **options)


def test_a_corpus_supports_a_vocabulary_growing_as_its_square_root_within_the_range():
    sizes = [2_000, 60_000, 250_000, 820_929, PROSE, 4_000_000, 10**8, 10**10]
    vocabs = [corpus_vocab(n) for n in sizes]
    assert vocabs == sorted(vocabs) and vocabs[0] == VOCAB_RANGE[0] and vocabs[-1] == VOCAB_RANGE[1]
    assert vocabs[1:6] == [2048, 4096, 8192, 8192, 16384]
    for n, v in zip(sizes, vocabs):
        assert v & (v - 1) == 0  # a power of two
        if VOCAB_RANGE[0] < v < VOCAB_RANGE[1]:  # the nearest to 8 x sqrt(bytes), on a log scale
            assert abs(math.log2(v) - math.log2(VOCAB_PER_ROOT_BYTE * math.sqrt(n))) <= 0.5


def test_a_longer_budget_shows_each_entry_more_often_so_it_affords_a_larger_vocabulary():
    sizes = [chosen(budgeted(seconds=s))["value"] for s in (20, 45, 180, 600, 3600)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1] <= corpus_vocab(PROSE)
    assert all(v & (v - 1) == 0 for v in sizes)
    one = chosen(budgeted(seconds=180))
    assert f"{SEEN_PER_ENTRY}+ times" in one["why"]
    doubled = derive(budgeted(seconds=180), vocab_size=2 * one["value"], step_seconds=step_seconds,
                     corpus_tokens=300_000, val_tokens=30_000).forecast  # the next size up
    assert one["value"] == corpus_vocab(PROSE) or doubled.tokens / (2 * one["value"]) < SEEN_PER_ENTRY
    short = chosen(budgeted(seconds=45))  # below the corpus's bound: the size above is named with its figure
    assert short["value"] < corpus_vocab(PROSE) and f"; {2 * short['value']:,} would show each about " in short["why"]


def test_a_small_corpus_bounds_the_vocabulary_whatever_the_budget():
    assert chosen(budgeted(seconds=3600), 60_000)["value"] == corpus_vocab(60_000) == 2048
    assert "the corpus's bound" in chosen(budgeted(seconds=3600), 60_000)["why"]


def test_the_dial_sizes_a_trained_tokenizer_of_a_token_stream_only_under_a_budget():
    assert chosen(budgeted("unigram"))["value"] >= VOCAB_RANGE[0]
    assert chosen(budgeted("char")) is None  # a char vocabulary is the corpus's characters
    assert chosen(budgeted("file")) is None
    assert chosen(budgeted(seconds=0)) is None
    assert chosen(budgeted(objective="classify")) is None
    assert chosen(budgeted(vocab_size=1000)) is None  # the model's own size
    assert chosen(budgeted(), None) is None
    tuned = budgeted()
    tuned.finetune.source = "runs/base"
    assert chosen(tuned) is None  # a fine-tune keeps its source's tokenizer


def test_a_vocabulary_the_user_set_is_kept_and_said_so():
    cfg = budgeted()
    cfg.tokenizer.vocab_size = 3000
    assert VOCAB_KEY in set_fields(cfg)
    assert chosen(cfg) == {"value": 3000, "why": "set in the config"}


def test_derive_carries_the_choice_and_forecasts_the_steps_with_it():
    cfg = budgeted(seconds=45)
    plan = derive(cfg, vocab_size=8192, step_seconds=step_seconds, corpus_tokens=300_000, val_tokens=30_000,
                  corpus_bytes=PROSE)
    size = plan.choices[VOCAB_KEY]["value"]
    assert size == chosen(budgeted(seconds=45))["value"] < 8192
    at_size = derive(budgeted(seconds=45), vocab_size=size, corpus_tokens=300_000, val_tokens=30_000,
                     step_seconds=lambda t: estimate(t, vocab_size=size, peak_flops=1.4e11).seconds_per_step)
    assert plan.forecast.steps == at_size.forecast.steps  # the run's steps at its own vocabulary, not at 8,192
    plan.apply(cfg)
    assert cfg.tokenizer.vocab_size == size and cfg.model.vocab_size == 0
    without = derive(budgeted(), vocab_size=8192, step_seconds=step_seconds, corpus_tokens=300_000)
    assert VOCAB_KEY not in without.choices  # no size known: the vocabulary stays as configured


def test_the_vocabulary_is_chosen_as_the_engine_will_before_the_corpus_is_encoded():
    waiting = derive(budgeted(seconds=45), vocab_size=8192, step_seconds=step_seconds, corpus_bytes=PROSE)
    assert waiting.choices["model.n_layer"]["why"] == "set in the config"  # no token count yet: the shape waits
    assert waiting.choices[VOCAB_KEY] == chosen(budgeted(seconds=45))  # the vocabulary does not
