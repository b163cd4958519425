"""train.time_budget, the one dial: read as seconds or "10m"; the rest of the run derived from the corpus and the
machine (engine/plan/budget.py) where the user left it; a warm-up/stable/decay schedule by time; the run ended on
time, its evaluations counted. Time comes from a fake clock: no test here measures the machine."""

import pytest

from engine.cli import main
from engine.config import rules
from engine.config.schema import RunConfig, apply_overrides, from_dict, loads
from engine.core.errors import ConfigError
from engine.plan.budget import LADDER, SHAPE_KEYS, derive
from engine.plan.estimate import estimate, parameters
from engine.plan.preflight import check
from engine.plan.vocab import VOCAB_KEY, VOCAB_RANGE, corpus_vocab
from engine.run.events import EventWriter, read_events
from engine.run.humanlog import describe
from engine.train.schedule import learning_rate, learning_rate_by_time
from engine.train.trainer import Trainer
from tests.conftest import tiny_config


# ----- reading the budget ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("given, seconds", [("10m", 600.0), ("90s", 90.0), ("1h", 3600.0), ("1.5h", 5400.0),
                                            ("45", 45.0), (90, 90.0), (2.5, 2.5), ("2 min", 120.0),
                                            ("1 min 38 s", 98.0), ("1m30s", 90.0), ("1h 30m", 5400.0),
                                            ("10 Minutes", 600.0), (".5h", 1800.0)])
def test_a_budget_is_read_as_seconds_or_a_duration(given, seconds):
    assert loads(f"[data]\npath = 'x.txt'\n[train]\ntime_budget = {given!r}\n").train.time_budget == seconds
    data = {"data": {"path": "x.txt"}}
    apply_overrides(data, [f"train.time_budget={given}"])  # --set, as typed on the command line
    assert from_dict(data).train.time_budget == seconds


@pytest.mark.parametrize("given", ["ten minutes", "10 parsecs", "", "-5m", "nan", "1 30", "m", "5 min -3 s"])
def test_a_budget_that_is_not_a_duration_is_refused_in_one_sentence_naming_the_field(given):
    with pytest.raises(ConfigError) as e:
        from_dict({"data": {"path": "x.txt"}, "train": {"time_budget": given}})
    assert str(e.value).count("train.time_budget") == 1 and "\n" not in str(e.value)
    assert f'such as "90s", "10m" or "1h", got {given!r}' in str(e.value)


def test_a_negative_budget_is_refused():
    """In the same sentence as a string that is no duration (the studio's field reads "-5" that way)."""
    with pytest.raises(ConfigError, match=r"train.time_budget must be seconds >= 0 \(90\) or a duration such as "
                                          r"\"90s\", \"10m\" or \"1h\", got -5"):
        check(from_dict({"data": {"path": "x.txt"}, "train": {"time_budget": -5}}))


# ----- the derivation ----------------------------------------------------------------------------------------------
def flop_seconds(cfg: RunConfig) -> float:
    """A step's seconds on an imaginary machine of 1e11 FLOP/s: the choices' only input from the machine."""
    return estimate(cfg, vocab_size=65, peak_flops=1e11).seconds_per_step


def budgeted(seconds: float, **model) -> RunConfig:
    cfg = RunConfig()
    cfg.data.path, cfg.train.time_budget = "x.txt", seconds
    for key, value in model.items():
        setattr(cfg.model, key, value)
    return cfg


def chosen(cfg: RunConfig, corpus_tokens: int = 10**10) -> RunConfig:
    plan = derive(cfg, vocab_size=65, step_seconds=flop_seconds, corpus_tokens=corpus_tokens, val_tokens=10**6)
    plan.apply(cfg)
    return cfg


@pytest.mark.parametrize("corpus", [10**10, 1_000_000])
def test_a_bigger_budget_never_chooses_a_smaller_model(corpus):
    sizes = [parameters(chosen(budgeted(s), corpus), 65)[0] for s in (5, 60, 600, 3600, 36_000, 360_000)]
    assert sizes == sorted(sizes) and sizes[-1] > 10 * sizes[0]


def test_a_small_corpus_gets_a_larger_model_than_repeating_it_would_ask():
    """Where 20 tokens per parameter would read the corpus more than 4 times, a larger shape reads it fewer."""
    plenty, scarce = chosen(budgeted(3600)), chosen(budgeted(3600), corpus_tokens=200_000)
    assert parameters(scarce, 65)[0] > parameters(plenty, 65)[0]


def test_a_corpus_the_budget_reads_many_times_even_in_the_largest_shape_is_said_to_risk_memorizing():
    """The ladder's larger shapes cut the readings of a small corpus; where none cuts them to MAX_EPOCHS, the
    expected run says so and what to do (an hour on 20,000 tokens); a corpus read fewer times says nothing."""
    from engine.plan.budget import MAX_EPOCHS

    def expected(corpus_tokens: int) -> tuple[float, str]:
        plan = derive(budgeted(3600), vocab_size=65, step_seconds=flop_seconds, corpus_tokens=corpus_tokens,
                      val_tokens=10**4)
        return plan.forecast.tokens / corpus_tokens, plan.choices["expected"]["why"]

    (scarce, said), (plenty, quiet) = expected(20_000), expected(10**10)
    assert scarce > MAX_EPOCHS and f"reads the corpus {scarce:.0f} times" in said and "memorize" in said
    assert "more text or a shorter budget" in said
    assert plenty < MAX_EPOCHS and "memorize" not in quiet


def test_what_the_user_set_wins_and_the_rest_is_chosen_with_a_reason():
    cfg = budgeted(600, n_layer=7)
    plan = derive(cfg, vocab_size=65, step_seconds=flop_seconds, corpus_tokens=10**8, val_tokens=10**6)
    assert plan.choices["model.n_layer"] == {"value": 7, "why": "set in the config"}
    plan.apply(cfg)
    assert cfg.model.n_layer == 7 and cfg.train.schedule == "wsd" and cfg.train.optimizer == "muon"
    assert all(c["why"] for c in plan.choices.values())
    assert "tokens per parameter" in plan.choices["model.n_head"]["why"]  # the shape's reason, at its first choice
    assert cfg.train.lr > chosen(budgeted(360_000)).train.lr  # narrower models get higher rates
    wide = chosen(budgeted(600, n_embd=200))  # heads fitted to a width the user set
    assert wide.model.n_embd == 200 and 200 % wide.model.n_head == 0


def test_muon_is_chosen_where_a_step_holds_enough_tokens_for_it_to_pay_and_adamw_elsewhere():
    fresh = derive(budgeted(600), vocab_size=65, step_seconds=flop_seconds, corpus_tokens=10**8, val_tokens=10**6)
    assert fresh.choices["train.optimizer"]["value"] == "muon"
    assert "tokens a step per unit of width" in fresh.choices["train.optimizer"]["why"]
    adamw_rate = derive(budgeted(600), vocab_size=65, step_seconds=flop_seconds, corpus_tokens=10**8,
                        val_tokens=10**6, given={"train.optimizer"}).choices["train.lr"]["value"]
    assert fresh.choices["train.lr"]["value"] == pytest.approx(2 * adamw_rate, rel=0.05)  # Muon's twice AdamW's
    tiny = budgeted(600)
    tiny.train.batch_size, tiny.model.block_size, tiny.model.n_embd = 1, 64, 128  # 0.5 tokens a step per width
    plan = derive(tiny, vocab_size=65, step_seconds=flop_seconds, corpus_tokens=10**8, val_tokens=10**6)
    assert plan.choices["train.optimizer"]["value"] == "adamw" and "too few" in plan.choices["train.optimizer"]["why"]
    classify = budgeted(600, objective="classify")
    assert derive(classify, vocab_size=65, step_seconds=flop_seconds).choices["train.optimizer"]["value"] == "adamw"
    sharded = budgeted(600)
    sharded.train.parallel = "fsdp"  # which splits the matrices Muon orthogonalizes whole
    assert chosen(sharded).train.optimizer == "adamw"
    mine = budgeted(600)
    mine.train.optimizer = "sgd"  # what the user set wins
    assert chosen(mine).train.optimizer == "sgd"


def test_the_step_each_shape_is_forecast_by_is_a_step_of_the_optimizer_chosen_for_it():
    """A step measured with Muon (the studio measures the design it shows) is the one the plan counts in."""
    asked = []

    def step_seconds(trial):
        asked.append(trial.train.optimizer)
        return 0.004 if trial.train.optimizer == "muon" else 0.5
    plan = derive(budgeted(60), vocab_size=65, step_seconds=step_seconds, corpus_tokens=10**8, val_tokens=10**6)
    assert set(asked) == {"muon"} and "at 4 ms a step" in plan.choices["expected"]["why"]


def test_every_rung_of_the_ladder_is_a_valid_config():
    for rung in LADDER:
        cfg = budgeted(60)
        for key, value in zip(SHAPE_KEYS, (rung.n_layer, rung.n_head, rung.n_embd, rung.block_size, rung.batch_size)):
            section, name = key.split(".")
            setattr(getattr(cfg, section), name, value)
        cfg.model.position = "rope"
        assert rules.problems(cfg) == []


def test_the_context_fits_the_validation_split():
    cfg = budgeted(360_000)
    derive(cfg, vocab_size=65, step_seconds=flop_seconds, corpus_tokens=10**7, val_tokens=300).apply(cfg)
    assert cfg.model.block_size <= 150


# ----- the schedule ------------------------------------------------------------------------------------------------
def test_warm_up_stable_decay_by_the_share_of_the_budget_spent():
    kw = dict(lr=1e-3, min_lr=1e-4, warmup=0.05)
    assert learning_rate_by_time(0.0, **kw) == pytest.approx(1e-5)
    assert learning_rate_by_time(0.025, **kw) == pytest.approx(5e-4)
    assert learning_rate_by_time(0.05, **kw) == learning_rate_by_time(0.5, **kw) == pytest.approx(1e-3)
    assert learning_rate_by_time(0.75, **kw) == pytest.approx(5.5e-4)  # half way down the budget's last half
    assert learning_rate_by_time(1.0, **kw) == learning_rate_by_time(1.2, **kw) == pytest.approx(1e-4)
    assert learning_rate_by_time(0.525, schedule="cosine", **kw) == pytest.approx(5.5e-4)
    steps = dict(lr=1e-3, min_lr=1e-4, warmup_steps=10, max_steps=110, schedule="wsd")
    assert learning_rate(80, **steps) == pytest.approx(1e-3) and learning_rate(110, **steps) == pytest.approx(1e-4)


# ----- the run ends on time ----------------------------------------------------------------------------------------
class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def run_on_a_fake_clock(cfg, *, step_s: float, eval_s: float, setup_s: float | None = None):
    """Train with each step taking `step_s` and each evaluation `eval_s` of the fake clock's seconds; `setup_s`: the
    command started that long before the first step (None: the trainer is not told when it started)."""
    clock, events = FakeClock(), []
    writer = EventWriter(None)
    writer.listeners.append(events.append)
    trainer = Trainer(cfg, events=writer, clock=clock, started=None if setup_s is None else 0.0)
    trainer.setup()
    clock.t += setup_s or 0.0
    step, assess = trainer.train_step, trainer.evaluate

    def train_step():
        clock.t += step_s
        return step()

    def evaluate():
        clock.t += eval_s
        return assess()

    trainer.train_step, trainer.evaluate = train_step, evaluate
    try:
        reason = trainer.fit()
    finally:
        trainer.close()
        writer.close()
    return trainer, reason, events


def test_the_budget_ends_the_run_on_time_with_its_evaluations_counted(tmp_path, tiny_text):
    runs = {}
    for eval_s in (0.0, 5.0):
        cfg = tiny_config(tiny_text, tmp_path / str(eval_s), train={"time_budget": 100, "max_steps": 10_000})
        runs[eval_s] = run_on_a_fake_clock(cfg, step_s=1.0, eval_s=eval_s)
    for eval_s, (trainer, reason, events) in runs.items():
        assert reason == "finished" and 95 <= trainer.elapsed() <= 100, (eval_s, trainer.elapsed())
        assert [e.step for e in events if e.type == "checkpoint"][-1] == trainer.step
        lrs = [e["lr"] for e in events if e.type == "step"]
        assert lrs[0] < 0.2 * 3e-3 and max(lrs) == pytest.approx(3e-3) and lrs[-1] < 0.35 * 3e-3  # warm, hold, decay
    assert runs[5.0][0].step < runs[0.0][0].step - 30  # seven evaluations of 5 s: some 35 steps fewer
    # the one due at step 60 would have left no room for another step: dropped, the final one comes at the end
    assert [e.step for e in runs[5.0][2] if e.type == "eval"] == [0, 10, 20, 30, 40, 50, runs[5.0][0].step]
    started = next(e for e in runs[5.0][2] if e.type == "started")
    assert started["budget"]["train.time_budget"]["value"] == 100
    assert started["budget"]["model.n_layer"] == {"value": 1, "why": "set in the config"}
    assert "budget: train.schedule = wsd: warm up, hold, decay" in describe(started)


def test_no_evaluation_comes_a_few_steps_before_the_final_one(tmp_path, tiny_text):
    """A periodic evaluation that would leave less than half an interval of steps before the final one is dropped:
    two evaluations a few steps apart (70 and 72 here before) tell no more than the last."""
    for eval_s in (0.5, 3.0):
        cfg = tiny_config(tiny_text, tmp_path / str(eval_s), train={"time_budget": 100, "max_steps": 10_000,
                                                                    "eval_interval": 10})
        trainer, reason, events = run_on_a_fake_clock(cfg, step_s=1.0, eval_s=eval_s)
        steps = [e.step for e in events if e.type == "eval"]
        assert reason == "finished" and 95 <= trainer.elapsed() <= 100 and steps[-1] == trainer.step
        assert steps[-1] - steps[-2] >= 5, steps


def test_the_set_up_before_the_first_step_is_spent_from_the_budget(tmp_path, tiny_text):
    ends = {}
    for setup_s in (None, 20.0):
        cfg = tiny_config(tiny_text, tmp_path / str(setup_s), train={"time_budget": 100, "max_steps": 10_000})
        trainer, reason, events = run_on_a_fake_clock(cfg, step_s=1.0, eval_s=0.0, setup_s=setup_s)
        assert reason == "finished" and 95 <= trainer.elapsed() <= 100, (setup_s, trainer.elapsed())
        finished_at = [e for e in events if e.type == "step"][-1]
        ends[setup_s] = trainer.step
        if setup_s:
            assert finished_at["elapsed"] >= setup_s  # the run's time includes the wait before its first step
    assert 15 <= ends[None] - ends[20.0] <= 25  # some 20 steps of 1 s fewer


def test_a_minimal_config_with_only_a_corpus_and_a_budget_trains_and_says_what_it_chose(tmp_path, tiny_text, capsys):
    path = tmp_path / "run.toml"  # a test keeps its token cache in tmp_path too
    path.write_text(f"[data]\npath = '{tiny_text}'\ncache_dir = 'cache'\n\n[train]\ntime_budget = '3s'\n")
    assert main(["train", str(path), "--human"]) == 0
    run = tmp_path / "runs" / "run"
    events = read_events(run / "events.jsonl")
    started = next(e for e in events if e.type == "started")
    assert {"model.n_layer", "model.n_embd", "train.batch_size", "train.lr", "train.schedule"} <= set(started["budget"])
    assert [e["reason"] for e in events if e.type == "finished"] == ["finished"]
    assert any(e.type == "checkpoint" for e in events) and list((run / "checkpoints").iterdir())
    said = capsys.readouterr().err
    assert "budget: model.n_layer = " in said and "budget: train.lr = " in said
    written = loads((run / "run.toml").read_text())
    assert written.train.time_budget == 3.0 and written.train.schedule == "wsd"  # the choices, kept for a resume


@pytest.mark.parametrize("set_vocab", [None, 600])
def test_a_trained_tokenizer_learns_the_vocabulary_the_dial_chose_from_the_corpus_size(tmp_path, tiny_text,
                                                                                        set_vocab):
    tokenizer = {"kind": "bpe"} | ({"vocab_size": set_vocab} if set_vocab else {})
    cfg = tiny_config(tiny_text, tmp_path, tokenizer=tokenizer, train={"time_budget": 100})
    trainer = Trainer(cfg, events=EventWriter(None), clock=FakeClock())
    trainer.setup()
    try:
        choice = trainer.budget[VOCAB_KEY]
        assert choice["value"] == trainer.cfg.tokenizer.vocab_size
        if set_vocab:
            assert choice == {"value": set_vocab, "why": "set in the config"}
        else:  # a power of two, up to what 20 kB supports
            assert VOCAB_RANGE[0] <= choice["value"] <= corpus_vocab(tiny_text.stat().st_size) == 1024
            assert choice["value"] & (choice["value"] - 1) == 0 and "bpe vocabulary" in choice["why"]
        assert 256 < trainer.tokenizer.vocab_size <= choice["value"]  # trained to it (a small corpus may stop short)
        assert list(trainer.budget)[:2] == ["train.time_budget", VOCAB_KEY]  # said first, as it was chosen first
    finally:
        trainer.close()


def test_a_run_that_spent_its_budget_is_not_resumed_but_extended_by_steps(tmp_path, tiny_text, capsys):
    path = tmp_path / "run.toml"
    path.write_text(f"[data]\npath = '{tiny_text}'\ncache_dir = 'cache'\n\n[train]\ntime_budget = '3s'\n"
                    "sample_interval = -1\nwarmup_steps = 1000000\n")  # by steps, beyond any run: a budget's is by time
    assert main(["train", str(path)]) == 0
    run = tmp_path / "runs" / "run"
    done = [e for e in read_events(run / "events.jsonl") if e.type == "finished"][-1].step
    capsys.readouterr()
    assert main(["resume", str(run)]) == 2  # no step past the budget it spent
    said = capsys.readouterr().err
    assert "has spent its time budget" in said and f"--max-steps N with N above {done}" in said
    assert [e.step for e in read_events(run / "events.jsonl") if e.type == "finished"][-1] == done
    assert main(["resume", str(run), "--max-steps", str(done + 3)]) == 0  # by steps, at the final rate
    events = read_events(run / "events.jsonl")
    written = loads((run / "run.toml").read_text())
    assert events[-1].type == "finished" and events[-1].step == done + 3
    assert written.train.time_budget == 0 and written.train.decay_steps == done and written.train.warmup_steps == 0
    assert {e["lr"] for e in events if e.type == "step" and e.step > done} == {written.train.min_lr}
