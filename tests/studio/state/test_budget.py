"""The Model page's time budget, without Qt: which fields the dial owns, that a user's edit wins, what the studio
writes (the dial's fields at their defaults, so the engine derives the same) and the budget field's words."""

import pytest

from engine.config import schema as C
from engine.plan.budget import derive
from engine.plan.estimate import estimate
from engine.plan.vocab import VOCAB_KEY, corpus_vocab
from studio.model.hardware import Device
from studio.state.budget import DIAL_KEYS, KEPT, budget_text, put, read_budget, value
from studio.state.design import CorpusFacts, DesignState

CPU = [Device("cpu", "CPU (2 cores)", 8e11)]
TOKENS, VOCAB = 17_600, 30


def form(tmp_path, budget: float = 60.0, **model) -> C.RunConfig:
    """What the form holds: a small designed model (not the defaults) and a budget."""
    corpus = tmp_path / "c.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog\n" * 400)
    cfg = C.RunConfig(name="tiny")
    cfg.data.path, cfg.tokenizer.kind, cfg.train.time_budget = str(corpus), "char", budget
    cfg.model.n_layer, cfg.model.n_head, cfg.model.n_embd, cfg.model.block_size = 1, 2, 16, 16
    cfg.train.optimizer, cfg.train.eval_interval = "adam", 10
    for key, v in model.items():
        setattr(cfg.model, key, v)
    return cfg


def decide(state: DesignState, cfg: C.RunConfig):
    return state.decide(cfg, [], CorpusFacts(cfg.tokenizer, VOCAB, TOKENS), CPU)


def shown(state: DesignState, d, cfg: C.RunConfig) -> C.RunConfig:
    """The form after it showed the design: the dial's values in the fields it chooses (as the page puts them)."""
    out = cfg.copy()
    for key, v in state.budget.filled(d.budget, cfg).items():
        put(out, key, v)
    return out


def engine_choices(written: C.RunConfig) -> dict:
    """What the engine derives from the written config at the start, with the same corpus and step times."""
    train = round(TOKENS * (1 - written.data.val_fraction))
    return derive(written, vocab_size=VOCAB, corpus_tokens=train, val_tokens=TOKENS - train,
                  step_seconds=lambda c: estimate(c, vocab_size=VOCAB, peak_flops=8e11).seconds_per_step).choices


def test_the_dial_keys_are_every_field_the_engine_may_choose():
    cfg = C.RunConfig()
    cfg.train.time_budget, cfg.tokenizer.kind = 60, "bpe"
    choices = derive(cfg, vocab_size=VOCAB, step_seconds=lambda c: 0.01, corpus_tokens=10**6, given=set(),
                     corpus_bytes=10**7).choices
    assert {k for k in choices if "." in k} - {"train.time_budget"} == set(DIAL_KEYS)


def test_with_a_budget_the_dial_owns_its_fields_and_the_studio_writes_them_at_their_defaults(tmp_path):
    state = DesignState()
    d = decide(state, form(tmp_path))
    assert d.can_train and set(d.budget.owned) == set(DIAL_KEYS) - {VOCAB_KEY}  # what the form held was no user's
    # edit; a char vocabulary is the corpus's characters
    assert all(value(d.written, k) == value(C.RunConfig(), k) for k in DIAL_KEYS)
    assert d.written.train.time_budget == 60 and d.written.data == d.config.data
    assert d.budget.choices == engine_choices(d.written)  # the engine derives what the form shows
    assert all(value(d.config, k) == v for k, v in d.budget.owned.items())  # the estimate counts the dial's run
    assert d.config.train.schedule == "wsd" and d.config.model.n_layer == d.budget.choices["model.n_layer"]["value"]


def test_what_the_dial_chooses_depends_on_the_run(tmp_path):
    long = decide(DesignState(), form(tmp_path, budget=600))
    assert "train.compile" not in long.budget.owned  # compiling pays off over ten minutes: the form's value stays
    assert long.written.train.compile == long.config.train.compile
    classify = form(tmp_path)
    classify.model.objective = "classify"
    owned = decide(DesignState(), classify).budget.owned
    assert "model.n_layer" not in owned and "train.lr" in owned  # labelled rows: no token stream to size a shape to
    unprepared = DesignState().decide(form(tmp_path), [], CorpusFacts(), CPU).budget
    assert "model.n_layer" not in unprepared.owned and "once the corpus is prepared" in unprepared.waiting


def test_a_trained_tokenizer_gets_the_dials_vocabulary_and_the_estimate_counts_it(tmp_path):
    cfg = form(tmp_path)
    cfg.tokenizer.kind = "bpe"
    prepared = 8192  # the Corpus page prepared at the default size
    state = DesignState()
    d = state.decide(cfg, [], CorpusFacts(cfg.tokenizer, prepared, TOKENS), CPU)
    size = d.budget.owned[VOCAB_KEY]
    assert size == d.config.tokenizer.vocab_size <= corpus_vocab((tmp_path / "c.txt").stat().st_size) < prepared
    assert "bpe vocabulary" in d.budget.choices[VOCAB_KEY]["why"]
    assert d.written.tokenizer.vocab_size == C.TokenizerConfig().vocab_size  # the engine chooses the same there
    assert d.vocab == size  # the run's vocabulary, not the one prepared
    again = shown(state, d, cfg)
    again.tokenizer.vocab_size = prepared  # the Corpus page hands its tokenizer over again, its size left as it was
    state.budget.keep_shown(again, VOCAB_KEY)
    d = state.decide(again, [], CorpusFacts(cfg.tokenizer, prepared, TOKENS), CPU)
    assert VOCAB_KEY not in d.budget.user and d.budget.owned[VOCAB_KEY] == size  # still the dial's
    assert again.tokenizer.vocab_size == size  # and shown as such
    edited = shown(state, d, again)
    edited.tokenizer.vocab_size = 1000  # the user takes it back
    d = state.decide(edited, [], CorpusFacts(cfg.tokenizer, prepared, TOKENS), CPU)
    assert d.budget.choices[VOCAB_KEY] == {"value": 1000, "why": KEPT} and d.written.tokenizer.vocab_size == 1000


def test_the_corpus_page_is_told_when_the_budget_trains_the_run_a_tokenizer_of_another_size(tmp_path):
    from studio.state.budget import tokenizer_note

    cfg = form(tmp_path)
    cfg.tokenizer.kind = "bpe"
    d = DesignState().decide(cfg, [], CorpusFacts(cfg.tokenizer, 8192, TOKENS), CPU)
    size = d.budget.owned[VOCAB_KEY]
    note = tokenizer_note(d.budget, "bpe", 8192)  # the Corpus page prepared at the default
    assert note.startswith(f"The Model page's time budget trains the run's own bpe tokenizer of {size:,} entries")
    assert note.endswith("not this one of 8,192: set a size here other than 8,192 to keep yours.")
    assert tokenizer_note(d.budget, "bpe", size) == ""  # the same size
    assert tokenizer_note(d.budget, "char", 8192) == ""  # another kind than the run's: nothing of the budget's
    assert tokenizer_note(None, "bpe", 8192) == ""
    cfg.train.time_budget = 0.0  # no budget: the page's own tokenizer is the run's
    assert tokenizer_note(DesignState().decide(cfg, [], CorpusFacts(cfg.tokenizer, 8192, TOKENS), CPU).budget, "bpe",
                          8192) == ""


def test_a_user_edit_wins_and_is_written_as_set(tmp_path):
    state = DesignState()
    cfg = form(tmp_path)
    d = decide(state, cfg)
    edited = shown(state, d, cfg)
    edited.model.n_layer = 3  # the user changes a field the dial chose
    d = decide(state, edited)
    assert "model.n_layer" in d.budget.user and "model.n_layer" not in d.budget.owned
    assert d.written.model.n_layer == 3 == d.config.model.n_layer
    assert d.budget.choices["model.n_layer"] == {"value": 3, "why": KEPT}
    assert d.budget.choices == engine_choices(d.written)
    assert "model.n_embd" in d.budget.owned  # the others are still the dial's


def test_a_user_value_equal_to_the_default_is_the_dials_as_the_engine_reads_it(tmp_path):
    state = DesignState()
    cfg = form(tmp_path)
    edited = shown(state, decide(state, cfg), cfg)
    edited.model.n_layer = C.ModelConfig().n_layer
    d = decide(state, edited)
    assert "model.n_layer" in d.budget.user and "model.n_layer" in d.budget.owned  # the page says so on the field
    assert "model.n_layer" not in state.budget.filled(d.budget, edited)  # and leaves the user's value in it


def test_a_loaded_config_keeps_its_set_fields_and_clearing_the_budget_gives_the_fields_back(tmp_path):
    state = DesignState()
    cfg = form(tmp_path)
    cfg.model.n_layer, cfg.model.n_embd, cfg.model.n_head, cfg.model.block_size = 4, 128, 4, 64  # the defaults
    cfg.train.batch_size = 7
    state.budget.load(cfg)  # a run.toml with a budget: what differs from the defaults was set
    d = decide(state, cfg)
    assert {"train.batch_size", "train.optimizer", "train.eval_interval"} <= d.budget.user
    assert d.written.train.batch_size == 7 and "model.n_layer" in d.budget.owned
    after = shown(state, d, cfg)
    assert after.model.n_layer == d.budget.owned["model.n_layer"]
    after.train.time_budget = 0  # the field emptied: the fields the dial chose hold what they did before
    off = decide(state, after)
    assert off.budget.seconds == 0 and off.written.model.n_layer == 4 and not off.budget.owned
    assert state.budget.filled(off.budget, after)["model.n_layer"] == 4


def test_a_problem_the_engine_would_refuse_first_stops_the_dial_and_says_why(tmp_path):
    state = DesignState()
    cfg = form(tmp_path, n_layer=4, n_head=3, n_embd=128, block_size=64)
    state.budget.load(cfg)  # three heads set by the user, the width left to the dial: its default 128 does not divide
    d = decide(state, cfg)
    assert not d.can_train and not d.budget.choices and "problems listed" in d.budget.waiting
    assert any("model.n_head (3) must divide model.n_embd (128)" in p for p in d.problems)


@pytest.mark.parametrize("text, seconds", [("", 0.0), ("0", 0.0), ("90", 90.0), ("90s", 90.0), ("10m", 600.0),
                                           ("1.5h", 5400.0), (" 3s ", 3.0)])
def test_the_budget_field_reads_the_engines_durations(text, seconds):
    assert read_budget(text) == (seconds, None)
    assert read_budget(budget_text(seconds)) == (seconds, None)


@pytest.mark.parametrize("text", ["ten minutes", "-5m", "-1", "5 parsecs"])
def test_a_budget_that_is_no_duration_is_refused_in_a_sentence(text):
    seconds, problem = read_budget(text)
    assert problem.startswith("train.time_budget must be seconds >= 0 (90) or a duration such as") and "\n" not in problem


def test_the_budget_is_shown_as_typed():
    assert [budget_text(s) for s in (0, 3, 2.5, 90, 600, 3600, 5400)] == ["", "3s", "2.5s", "90s", "10m", "1h", "90m"]
