"""One dial: a run that gives only its corpus and `train.time_budget` gets the rest chosen here, from the corpus's
size in tokens, the tokenizer's vocabulary and the seconds a step takes on the machine (measured where that shape
was measured, else estimated from its FLOPs: engine/plan/estimate.py). Pure functions, no torch.

What the user set wins. A RunConfig does not record which fields its file gave, so a field counts as set when it
differs from its default (`set_fields`): a field written with its default value is chosen by the dial like an
absent one. The rules, each a constant below so that a benchmark can tune it:
- the shape, from LADDER: the largest rung the budget trains on TOKENS_PER_PARAM tokens per parameter (Hoffmann et
  al., 2022); where that would read the corpus more than MAX_EPOCHS times (up to ~4, repeated tokens are worth
  nearly as much as new ones: Muennighoff et al., 2023), a larger rung, while it still sees MIN_TOKENS_PER_PARAM;
- the micro-batch with the rung, growing with the model as nanoGPT's configs do (the smallest rung's measured);
- the learning rate ~ 1/sqrt(width), 1e-3 at 384 (nanoGPT's Shakespeare model), min_lr a tenth of it;
- warm-up, stable, decay by time: the first WARMUP_SHARE of the budget warms up, the last BUDGET_DECAY_SHARE decays, and
  the decay ends at the budget (engine/train/schedule.py);
- evaluations taking about EVAL_SHARE of the budget, at most MAX_EVALS;
- Muon (the blocks' matrices; the rest by AdamW) for a causal model trained from scratch whose step holds at least
  MUON_MIN_TOKENS_PER_WIDTH tokens per unit of width, at MUON_LR_FACTOR times AdamW's rate; AdamW otherwise;
- no torch.compile under COMPILE_MIN_BUDGET_S: compiling costs tens of seconds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

from engine.config.schema import RunConfig
from engine.plan.estimate import DISK_BYTES_PER_S, STEP_OVERHEAD_S, estimate, eval_passes, padded_vocab, parameters
from engine.plan.vocab import VOCAB_KEY, VOCAB_RANGE, corpus_vocab, sizes_vocab, vocab_given

TOKENS_PER_PARAM = 20.0
MIN_TOKENS_PER_PARAM = 5.0
MAX_EPOCHS = 4.0
WARMUP_SHARE = 0.05
SHORT_BUDGET_S = 10.0
"""A budget under this is said to go mostly to the start-up (a few seconds) and the final evaluation."""
DECAY_SHARE = 0.25
"""wsd by steps (a run without a budget): the last quarter of its steps decays."""
BUDGET_DECAY_SHARE = 0.5
"""wsd by time: the last half of the budget decays. In turns on the suite's corpora (bench/README.md), reaching
nanoGPT's loss took 0.8-0.9x the time with half than with a quarter on table rows, BPE prose and code, the same on
names, prose and manual pages."""
EVAL_SHARE = 0.10
MAX_EVALS = 20
STEP_CAP = 100
"""max_steps is this many times the estimated steps: a cap the budget ends the run well before, even when the
machine turns out much faster than when the step was measured (a measurement taken under load)."""
COMPILE_MIN_BUDGET_S = 300.0
LR_AT_384, LR_RANGE = 1e-3, (3e-4, 3e-3)
MUON_MIN_TOKENS_PER_WIDTH = 8
"""Muon's Newton-Schulz iterations cost ~ width^3 a matrix whatever the batch, against a step's ~ tokens x width^2:
with too few tokens a step per unit of width they outweigh the fewer steps Muon needs. Measured in turns against
AdamW (bench/README.md): at 32 (the smallest rung, batch 32) Muon reached nanoGPT's loss sooner on each of the
suite's six corpora (1.03-1.32x at AdamW's rate, 1.27-1.73x at its better one); at the dial's rates, at 8 (batch 8)
1.37x sooner on prose, 1.09x later on table rows, at 2 (batch 2) later on both. The crossover lies between, depending
on the corpus."""
MUON_LR_FACTOR = 2.0
"""Muon's rate over AdamW's rule: in turns at the smallest rung, 4.9e-3 against 3e-3 reached nanoGPT's loss sooner
on prose, code, manual pages and BPE prose, later on names and table rows (bench/README.md)."""
MUON_LR_RANGE = (6e-4, 6e-3)
SEEN_PER_ENTRY = 128
"""A trained tokenizer's size: the budget should show each entry this many times on average, as forecast. In bits
per character at 45 s budgets (bench/README.md), 4,096 entries (forecast 236 times each, 200-280 in the runs) beat
8,192 (69; 55-60 in the runs) on 1.1 MB of prose, 0.8 MB of names and 250 KB of prose, and 2,048 (712) where the
corpus bounds it."""
TOKENS_PER_BYTE = 0.3
"""A byte-level BPE's tokens per byte of English prose at 2,048-8,192 entries (0.30-0.34 measured): the corpus's
tokens, counted before it is encoded, for the shape forecast while a size is chosen."""


@dataclass(frozen=True)
class Rung:
    n_layer: int
    n_head: int
    n_embd: int
    block_size: int
    batch_size: int


LADDER = (
    Rung(2, 2, 64, 64, 32),  # ~0.1M parameters in the blocks; batch 32, not 16: in turns on the suite's corpora
    # (bench/README.md) 0.7-0.85x the time to nanoGPT's loss on short lines and table rows, the same on prose
    Rung(4, 4, 128, 64, 32),  # ~0.8M: the default shape
    Rung(4, 4, 192, 128, 32),  # ~1.8M
    Rung(6, 4, 256, 128, 48),  # ~4.7M
    Rung(6, 6, 384, 256, 64),  # ~10.6M: nanoGPT's Shakespeare model
    Rung(8, 8, 512, 256, 64),  # ~25M
    Rung(12, 12, 768, 512, 32),  # ~85M: GPT-2 small's blocks
    Rung(24, 16, 1024, 1024, 16),  # ~300M: GPT-2 medium's
)
SHAPE_KEYS = ("model.n_layer", "model.n_head", "model.n_embd", "model.block_size", "train.batch_size")


@dataclass
class Forecast:
    """What one candidate config would do in the budget, by the step time it was given."""
    cfg: RunConfig
    params: int
    """Parameters outside the embeddings (Kaplan et al., 2020): what the tokens-per-parameter rules count."""
    step_s: float
    eval_s: float
    evals: int
    steps: int
    tokens: int

    @property
    def per_param(self) -> float:
        return self.tokens / max(1, self.params)


@dataclass
class BudgetPlan:
    seconds: float
    choices: dict[str, dict]
    """{key: {"value", "why"}}: a dotted config field (set by the dial, or kept as the user set it), or a note
    without a dot (the schedule's phases, what the run is expected to see). The started event carries it."""
    forecast: Forecast | None = None
    """What the chosen candidate is expected to do in the budget."""

    def apply(self, cfg: RunConfig) -> None:
        for key, choice in self.choices.items():
            if "." in key:
                section, name = key.split(".")
                setattr(getattr(cfg, section), name, choice["value"])


def set_fields(cfg: RunConfig) -> set[str]:
    """The dotted [model] and [train] fields that differ from their defaults, and the tokenizer's vocabulary if it
    does: what the user set (see above)."""
    fresh = RunConfig()
    return {f"{s}.{f.name}" for s in ("model", "train") for f in dataclasses.fields(getattr(cfg, s))
            if getattr(getattr(cfg, s), f.name) != getattr(getattr(fresh, s), f.name)} | \
        ({VOCAB_KEY} if vocab_given(cfg) else set())


def derive(cfg: RunConfig, *, vocab_size: int, step_seconds: Callable[[RunConfig], float], device_type: str = "cpu",
           corpus_tokens: int | None = None, val_tokens: int | None = None, memory_limit: float | None = None,
           world_size: int = 1, given: set[str] | None = None, corpus_bytes: int | None = None) -> BudgetPlan:
    """The choices for `cfg.train.time_budget` seconds. `step_seconds(candidate)`: a training step's seconds;
    `corpus_tokens` None (no token stream: labelled rows, pairs) keeps the configured shape; `given`: the fields
    the user set (default: those off their defaults); `memory_limit`: bytes a candidate's estimate must fit in;
    `corpus_bytes`: the corpus's files' size, from which a trained tokenizer's vocabulary is chosen
    (engine/plan/vocab.py: before encoding, so `vocab_size` is already the one chosen)."""
    budget = cfg.train.time_budget
    user = set_fields(cfg) if given is None else set(given)
    if "train.auto_batch_size" in user:  # the micro-batch is fitted to the memory after the dial
        user.add("train.batch_size")
    given = user | (set() if corpus_tokens else set(SHAPE_KEYS))  # no token stream (yet): the shape stays
    if vocab := choose_vocab(cfg, corpus_bytes, given=user, step_seconds=step_seconds,
                             device_type=device_type, memory_limit=memory_limit, world_size=world_size):
        if vocab["value"] != vocab_size:  # the run's tokenizer is trained to it: its steps are forecast so
            sized, vocab_size = step_seconds, vocab["value"]
            step_seconds = lambda trial: sized(_with_vocab(trial, vocab_size))  # noqa: E731
    trials = [_candidate(cfg, rung, given, val_tokens) for rung in LADDER]
    if memory_limit is not None:
        trials = [t for t in trials if estimate(t, vocab_size=vocab_size, device_type=device_type).memory_bytes
                  <= memory_limit] or trials[:1]
    runs = [_forecast(t, budget, vocab_size, step_seconds, device_type, world_size) for t in trials]
    pick, why_shape = _choose(runs, corpus_tokens)
    f = runs[pick]
    short = (f"; under {SHORT_BUDGET_S:.0f} s most of it goes to the start-up (reading the corpus, building the "
             f"model) and the final evaluation" if budget < SHORT_BUDGET_S else "")
    choices: dict[str, dict] = {"train.time_budget": {"value": budget, "why": "the one dial: the run ends by then, "
                                                      "its evaluations included" + short}}

    if vocab:
        choices[VOCAB_KEY] = vocab

    def choose(key: str, value, why: str) -> None:
        section, name = key.split(".")
        kept = key in given
        choices[key] = {"value": getattr(getattr(cfg, section), name) if kept else value,
                        "why": "set in the config" if kept else why}

    m, t = f.cfg.model, f.cfg.train
    for key in SHAPE_KEYS[:4]:
        choose(key, getattr(m, key.split(".")[1]), why_shape)
        if key not in given:  # said once, at the first field it chose
            why_shape = "the same rung of the ladder of shapes as the layers"
    choose("train.batch_size", t.batch_size, f"grows with the shape: {f.tokens // max(1, f.steps):,} tokens a step")
    choose("train.optimizer", *_optimizer(f.cfg))
    muon = choices["train.optimizer"]["value"] == "muon"
    factor, (low, high) = (MUON_LR_FACTOR, MUON_LR_RANGE) if muon else (1.0, LR_RANGE)
    lr = float(f"{min(max(factor * LR_AT_384 * math.sqrt(384 / m.n_embd), low), high):.2g}")
    choose("train.lr", max(lr, cfg.train.min_lr if "train.min_lr" in given else 0.0),
           f"higher for narrower models: {f'{factor:g} x ' if muon else ''}1e-3 x sqrt(384 / n_embd {m.n_embd}) "
           f"(nanoGPT's 1e-3 at 384{', for AdamW' if muon else ''})")
    choose("train.min_lr", float(f"{choices['train.lr']['value'] / 10:.2g}"),
           "a tenth of the learning rate, where nanoGPT's schedule ends")
    choose("train.schedule", "wsd", "warm up, hold, decay, ending at the budget (by time, not steps)")
    choices["warmup"] = {"value": f"{WARMUP_SHARE:.0%}", "why": f"the first {WARMUP_SHARE * budget:.2g} s warm up"}
    shape = choices["train.schedule"]["value"]
    choices["decay"] = {"value": f"{BUDGET_DECAY_SHARE:.0%}" if shape == "wsd" else shape,
                        "why": f"the last {BUDGET_DECAY_SHARE * budget:.2g} s decay to min_lr" if shape == "wsd" else
                        "none: the rate holds" if shape == "constant" else "from the warm-up's end to the budget"}
    share = f.evals * f.eval_s / budget
    choose("train.eval_interval", max(1, f.steps // f.evals), f"about {f.evals} evaluation"
           f"{'s' if f.evals != 1 else ''} of ~{f.eval_s:.2g} s, {share:.0%} of the budget " +
           (f"(at most {EVAL_SHARE:.0%} and {MAX_EVALS} evaluations)" if share <= EVAL_SHARE else
            "(the final one alone is more than a budget this short can spare)"))
    choose("train.max_steps", STEP_CAP * f.steps, f"a cap only: the budget ends the run, by the estimate at about "
           f"{f.steps:,} step{'s' * (f.steps != 1)}")
    if budget < COMPILE_MIN_BUDGET_S:
        choose("train.compile", "off", f"compiling costs tens of seconds: not for a budget under "
               f"{COMPILE_MIN_BUDGET_S / 60:.0f} minutes")
    epochs = f.tokens / corpus_tokens if corpus_tokens else 0.0
    choices["expected"] = {"value": f"{f.steps:,} step{'s' * (f.steps != 1)}, {f.tokens:,} tokens" + (f" ({epochs:.{'1f' if epochs >= 0.1 else '2g'}} epochs of the "
                                                                                  f"corpus)" if epochs else ""),
                           "why": f"at {f.step_s * 1000:.3g} ms a step (measured or estimated for this machine), "
                                  f"{f.params:,} parameters in the blocks, {f.per_param:.2g} tokens per parameter"
                                  + (_rereads(epochs, runs[pick + 1:pick + 2]) if epochs > MAX_EPOCHS else "")}
    return BudgetPlan(budget, choices, f)


def choose_vocab(cfg: RunConfig, corpus_bytes: int | None, *, given: set[str] | None = None,
                 **options) -> dict | None:
    """{"value", "why"} for a trained tokenizer's `tokenizer.vocab_size` under the budget, or None where the dial
    leaves it (engine/plan/vocab.py `sizes_vocab`, or no size known); `given`: the fields the user set (default:
    those off their defaults), a vocabulary among them kept. Otherwise the largest power of two, up to what the
    corpus supports (`corpus_vocab`), whose entries the budget shows SEEN_PER_ENTRY times each on average: each
    size's run forecast as `derive` forecasts it (`options`: its step_seconds, device_type, memory_limit,
    world_size), the corpus's tokens counted at TOKENS_PER_BYTE. Made before the corpus is encoded."""
    if not corpus_bytes or not sizes_vocab(cfg):
        return None
    given = set_fields(cfg) if given is None else set(given)
    if VOCAB_KEY in given:
        return {"value": cfg.tokenizer.vocab_size, "why": "set in the config"}
    top = corpus_vocab(corpus_bytes)
    tokens = int(corpus_bytes * TOKENS_PER_BYTE)
    train = int(tokens * (1 - cfg.data.val_fraction))
    size, seen, above = VOCAB_RANGE[0], 0.0, ""
    for size in (1 << k for k in range(top.bit_length() - 1, VOCAB_RANGE[0].bit_length() - 2, -1)):
        trial = _with_vocab(cfg, size)  # the step each size would take
        plan = derive(trial, vocab_size=size, corpus_tokens=train, val_tokens=tokens - train, given=given, **options)
        seen = plan.forecast.tokens / size
        if seen >= SEEN_PER_ENTRY:
            break
        above = f"; {size:,} would show each about {seen:.0f} times"
    if seen < SEEN_PER_ENTRY:
        return {"value": size, "why": f"the smallest {cfg.tokenizer.kind} vocabulary the dial takes: this budget "
                                      f"shows each entry about {seen:.0f} times (it aims at {SEEN_PER_ENTRY}+)"}
    bound = "" if size < top else f", at most {top:,} for {corpus_bytes / 1e6:.3g} MB of text (the corpus's bound)"
    return {"value": size, "why": f"the largest {cfg.tokenizer.kind} vocabulary this budget shows each entry "
                                  f"{SEEN_PER_ENTRY}+ times (about {seen:.0f}{above}){bound}"}


def _rereads(epochs: float, larger: list[Forecast]) -> str:
    """What reading the corpus more than MAX_EPOCHS times means, for the expected run's reason; `larger`: the next
    rung of the ladder, if there is one (which would read it fewer times, but is too large for the budget)."""
    if not larger:
        why = "the ladder has no larger shape"
    elif larger[0].per_param < MIN_TOKENS_PER_PARAM:
        why = (f"the next larger shape would see only {larger[0].per_param:.2g} tokens per parameter in this budget, "
               f"under the {MIN_TOKENS_PER_PARAM:.0f} that train well")
    else:
        why = "the next larger shape, with its larger batch, would read it as often"
    return (f"; it reads the corpus {epochs:.0f} times ({why}): the model may begin to memorize it (the validation "
            f"loss rises while the training loss falls; the best checkpoint by validation loss is kept), so more text "
            f"or a shorter budget would serve as well")


def _with_vocab(trial: RunConfig, vocab_size: int) -> RunConfig:
    """`trial` whose model has `vocab_size` entries, as a step of it costs (the model's own size wins)."""
    if trial.model.vocab_size:
        return trial
    out = trial.copy()
    out.model.vocab_size = padded_vocab(vocab_size)
    return out


def _optimizer(cfg: RunConfig) -> tuple[str, str]:
    """Muon where it was measured to reach a target sooner (MUON_MIN_TOKENS_PER_WIDTH), AdamW elsewhere, and why."""
    m, t = cfg.model, cfg.train
    if m.objective != "causal" or cfg.finetune.source:
        return "adamw", "Muon was measured faster for causal models trained from scratch only"
    if t.parallel == "fsdp":
        return "adamw", "Muon orthogonalizes whole matrices, which fsdp splits"
    per_width = t.batch_size * t.grad_accum * m.block_size / m.n_embd  # a process's: each orthogonalizes alone
    if per_width < MUON_MIN_TOKENS_PER_WIDTH:
        return "adamw", (f"{per_width:.2g} tokens a step per unit of width: too few for Muon's orthogonalization to "
                         f"pay (it did from {MUON_MIN_TOKENS_PER_WIDTH})")
    return "muon", (f"{per_width:.0f} tokens a step per unit of width: Muon's orthogonalized steps reach a loss in "
                    f"fewer steps than they cost (measured from {MUON_MIN_TOKENS_PER_WIDTH} up)")


def _candidate(cfg: RunConfig, rung: Rung, given: set[str], val_tokens: int | None) -> RunConfig:
    """`cfg` with the rung's values in the fields the user left; heads fitted to a width the user set."""
    trial = cfg.copy()
    block = rung.block_size
    if val_tokens:  # evaluation needs windows of the context in the validation split
        block = min(block, 1 << max(3, (val_tokens // 2).bit_length() - 1))
    values = dict(zip(SHAPE_KEYS, (rung.n_layer, rung.n_head, rung.n_embd, block, rung.batch_size)))
    for key, value in values.items():
        if key not in given:
            section, name = key.split(".")
            setattr(getattr(trial, section), name, value)
    m = trial.model
    unit = 2 if m.position == "rope" else 1  # rope needs an even head size
    if m.n_embd % (m.n_head * unit):
        if "model.n_head" in given and "model.n_embd" not in given:
            m.n_embd = max(1, round(m.n_embd / (m.n_head * unit))) * m.n_head * unit
        elif "model.n_head" not in given:
            m.n_head = max([h for h in range(1, m.n_head + 1) if m.n_embd % (h * unit) == 0] or [1])
    if "train.optimizer" not in given:  # its step, as measured, is the optimizer's the dial would choose for it
        trial.train.optimizer = _optimizer(trial)[0]
    return trial


def _forecast(trial: RunConfig, budget: float, vocab_size: int, step_seconds, device_type: str,
              world_size: int) -> Forecast:
    """Steps, evaluations and tokens in the budget: evaluations take EVAL_SHARE of it (forward passes of a third of
    a step each, a sample's decoded tokens, a checkpoint written), the steps the rest."""
    m, t = trial.model, trial.train
    step_s = max(float(step_seconds(trial)), 1e-6)
    total, _ = parameters(trial, vocab_size)
    vocab = m.vocab_size or padded_vocab(vocab_size)
    embedding = vocab * m.n_embd * (1 if m.tie_weights else 2) + (m.block_size * m.n_embd if m.position == "learned"
                                                                  else 0)
    per_layer, fixed = STEP_OVERHEAD_S.get(device_type, STEP_OVERHEAD_S["cpu"])
    sample_s = len(t.sample_prompts) * t.sample_tokens * (per_layer * m.n_layer + fixed) / 3 \
        if t.sample_interval >= 0 else 0.0
    eval_s = (eval_passes(trial) * t.eval_batches * step_s / t.grad_accum / 3 + sample_s
              + total * 12 / DISK_BYTES_PER_S)  # fp32 weights and Adam's two moments
    evals = max(1, min(MAX_EVALS, int(EVAL_SHARE * budget / eval_s)))
    steps = max(1, int((budget - (evals + 1) * eval_s) / step_s))
    tokens = steps * t.batch_size * t.grad_accum * m.block_size * world_size
    return Forecast(trial, max(1, total - embedding), step_s, eval_s, evals, steps, tokens)


def _choose(runs: list[Forecast], corpus_tokens: int | None) -> tuple[int, str]:
    """The rung and why (see the module's rules): a larger rung is taken for the corpus's sake only where it reads
    it fewer times (a larger batch can make it read more)."""
    full = [i for i, f in enumerate(runs) if f.per_param >= TOKENS_PER_PARAM]
    if not full:
        return 0, (f"the smallest shape: in this budget even it sees only {runs[0].per_param:.2g} tokens per "
                   f"parameter (a longer budget would train a larger one)")
    i = full[-1]
    why = (f"the largest shape this budget trains on {TOKENS_PER_PARAM:.0f}+ tokens per parameter" if i + 1 < len(runs)
           else f"the ladder's largest shape: this budget gives it {runs[i].per_param:.2g} tokens per parameter")
    first = runs[i].tokens / corpus_tokens if corpus_tokens else 0.0
    while (corpus_tokens and runs[i].tokens / corpus_tokens > MAX_EPOCHS and i + 1 < len(runs)
           and runs[i + 1].per_param >= MIN_TOKENS_PER_PARAM and runs[i + 1].tokens < runs[i].tokens):
        i += 1
        why = (f"larger than {TOKENS_PER_PARAM:.0f} tokens per parameter asks ({runs[i].per_param:.0f} here): that "
               f"would read the corpus {first:.0f} times, this reads it {runs[i].tokens / corpus_tokens:.1f} times")
    return i, why
