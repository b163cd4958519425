"""The trainer's time: its clock (`Trainer(clock=...)`, a fake one in tests), the run's elapsed time, and a
`train.time_budget`: the dial's choices applied once the corpus is known (engine/plan/budget.py), the learning rate
by the share of the budget spent, and the run's end when the time left holds no further step with the final
evaluation, samples and checkpoint (as long as the latest of each took)."""

from __future__ import annotations

from engine.data.encode import CorpusStats, cache_root
from engine.data.files import find_corpus_files
from engine.plan import estimate as est
from engine.plan.budget import SHAPE_KEYS, WARMUP_SHARE, choose_vocab, derive, set_fields
from engine.plan.vocab import VOCAB_KEY, sizes_vocab
from engine.runtime import device as dev
from engine.runtime import distributed as ddp
from engine.train.schedule import learning_rate, learning_rate_by_time
from engine.train.stopwatch import Stopwatch


class TimeBudget:
    """Mixed into the Trainer: its config, device, step and stopwatch are used here."""

    budget_s = 0.0
    budget: dict = {}
    """What the dial chose and why, for the started event: {key: {"value", "why"}} (engine/plan/budget.py)."""
    budget_origin = 0.0
    """Elapsed seconds at the first step: the schedule's time starts there, after the first evaluation."""
    skip_eval = False
    budget_given: set[str] | None = None
    """The fields the user set, noted before the dial changes any (`resolve_vocab`)."""
    vocab_choice: dict | None = None
    """The dial's choice of a trained tokenizer's size ({"value", "why"}), made before the corpus is encoded."""
    started: float | None = None
    """When the user's wait began on the trainer's clock (the command's start: `Trainer(started=...)`); a new run's
    set-up until then (imports, corpus, model) is spent from its budget. None: the time starts at the first step."""

    def start_clock(self) -> None:
        """This session's time starts: its elapsed time, the throughput's mark, the activities' stopwatch."""
        self.t0 = self.now()
        if self.budget_s and self.started is not None and not self.resume:  # the set-up was the user's wait too
            self.elapsed_before = max(0.0, self.t0 - self.started)
        self._mark = (self.step, self.t0)
        self.clock = Stopwatch(self.now)
        self.budget_from = self.step

    def resolve_vocab(self, tokenizer_given: bool) -> None:
        """With a budget, what the config leaves to the dial is noted, and a tokenizer still to train gets the
        vocabulary the dial chooses, from the corpus files' size, before the corpus is encoded
        (engine/plan/budget.py `choose_vocab`)."""
        self.budget_given = self._given()
        if self.resume or tokenizer_given or not sizes_vocab(self.cfg):
            return
        size = find_corpus_files(self.cfg.data.path).size
        self.vocab_choice = choose_vocab(self.cfg, size, given=self.budget_given,
                                         **self._dial_options(self.cfg.tokenizer.vocab_size))
        self.cfg.tokenizer.vocab_size = self.vocab_choice["value"]

    def elapsed(self) -> float:
        return self.elapsed_before + self.now() - self.t0

    def resolve_budget(self, vocab: int, corpus: CorpusStats | None) -> None:
        """With a budget, choose what the config leaves to the dial, before the task is built (its batch and context
        are among the choices), for a vocabulary of `vocab` tokens and the token stream's statistics (None: no
        stream, or a task built already, whose shape stays); a resumed run keeps the choices in run.toml."""
        tr = self.cfg.train
        self.budget_s = tr.time_budget
        if not self.budget_s or self.resume:
            self.budget = {"train.time_budget": {"value": self.budget_s, "why": "resumed: what the dial chose at the "
                                                 "start is in run.toml"}} if self.budget_s else {}
            return
        plan = derive(self.cfg, vocab_size=vocab, corpus_tokens=corpus.train_tokens if corpus else None,
                      val_tokens=corpus.val_tokens if corpus else None, **self._dial_options(vocab),
                      given=self._given() if self.budget_given is None else self.budget_given)
        plan.apply(self.cfg)
        first, *rest = plan.choices.items()  # the vocabulary, chosen before the corpus was encoded, after the budget
        self.budget = dict([first] + ([(VOCAB_KEY, self.vocab_choice)] if self.vocab_choice else []) + rest)
        dev.check_memory(self.cfg, self.device, vocab_size=vocab, processes=self.dist.world_size)

    def _dial_options(self, vocab: int) -> dict:
        """What the dial knows of this machine (engine/plan/budget.py `derive`'s options): a step's seconds as
        measured on it for the shape where it was, else estimated; the memory a candidate must fit in."""
        device = self.device
        peak = self._agreed(dev.peak_flops(device, self.precision), max)
        free = dev.free_memory(device)
        limit = None if free is None else free * 0.8 if device.type == "cuda" else free * 0.5 / self.dist.world_size
        limit = None if limit is None else self._agreed(limit, min)

        def step_seconds(trial) -> float:
            known = est.known_calibration(trial, vocab, device.type, cache_root(self.cfg))
            return known["step_s"] if known else est.estimate(
                trial, vocab_size=vocab, peak_flops=peak, device_type=device.type,
                world_size=self.dist.world_size).seconds_per_step

        return dict(step_seconds=step_seconds, device_type=device.type, memory_limit=limit,
                    world_size=self.dist.world_size)

    def _given(self) -> set[str]:
        """The fields the user set (engine/plan/budget.py `set_fields`); a fine-tune's shape is its source's."""
        return set_fields(self.cfg) | (set(SHAPE_KEYS[:4]) if self.source else set())

    def _agreed(self, value: float, pick) -> float:
        """One value on every process (the largest or the smallest), so that each derives the same choices."""
        if not self.dist.enabled:
            return value
        sign = 1 if pick is max else -1
        return sign * ddp.broadcast_code(sign * int(value / 1e6), self.dist, self.device) * 1e6

    def scheduled_lr(self) -> float:
        """The rate for the coming step: by the share spent of the budget's training time (from the first step to
        where the final evaluation must start), or by the step."""
        tr = self.cfg.train
        if self.budget_s:
            if self.step == 0:
                self.budget_origin = self.elapsed()
            end = self.budget_s - sum(self.clock.last.values())
            spent = (self.elapsed() - self.budget_origin) / max(1e-9, end - self.budget_origin)
            return learning_rate_by_time(spent, lr=tr.lr, min_lr=tr.min_lr, warmup=WARMUP_SHARE, schedule=tr.schedule)
        return learning_rate(self.step, lr=tr.lr, min_lr=tr.min_lr, warmup_steps=tr.warmup_steps,
                             max_steps=tr.decay_steps or tr.max_steps, schedule=tr.schedule)

    def budget_ends_run(self) -> bool:
        """After a step: True when the time left would not hold another step and then the final evaluation,
        samples and checkpoint. A periodic evaluation due now that would leave room for less than half an interval
        of steps before the final one is dropped instead (`skip_eval`): the final one comes soon after, and two
        evaluations a few steps apart tell no more than the last. Every process agrees."""
        self.skip_eval = False
        if not self.budget_s:
            return False
        tail = sum(self.clock.last.values())
        session = self.elapsed() - self.elapsed_before
        step_s = max(0.0, session - sum(self.clock.spent.values())) / max(1, self.step - self.budget_from)
        left = self.budget_s - self.elapsed()
        interval = self.cfg.train.eval_interval
        code = 2 if left <= step_s + tail else 1 if self.step % interval == 0 and \
            left <= 2 * tail + step_s * max(1, interval // 2) else 0
        code = ddp.broadcast_code(code, self.dist, self.device) if self.dist.enabled else code
        self.skip_eval = code == 1
        return code == 2

    def eta(self, step_s: float) -> float:
        """Seconds to the run's end: the budget's rest, or the steps left at `step_s` each."""
        if self.budget_s:
            return max(0.0, self.budget_s - self.elapsed())
        return (self.cfg.train.max_steps - self.step) * step_s
