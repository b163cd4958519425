"""The Model page's time budget, without Qt: what the one dial (engine/plan/budget.py) chooses from what the studio
knows (the prepared corpus, the device, the step time the estimate card uses), which of its fields the user took
back by changing them, and the config the studio writes.

The engine reads a dial field at its default as unset, so the written config holds the fields the dial chooses at
their defaults and the engine derives the same at the start (from the corpus and step time it finds then); a field
the user changed is written as they set it, and the dial leaves it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.config import rules
from engine.config import schema as C
from engine.config.schema import RunConfig
from engine.config.values import parse_duration
from engine.plan.budget import SHAPE_KEYS, derive, set_fields
from engine.plan.estimate import estimate, known_calibration
from engine.plan.memory import available_ram
from engine.plan.vocab import VOCAB_KEY

BUDGET_KEY = "train.time_budget"
DIAL_KEYS = (*SHAPE_KEYS, "train.lr", "train.min_lr", "train.schedule", "train.optimizer", "train.eval_interval",
             "train.max_steps", "train.compile", VOCAB_KEY)
"""Every field the dial may choose; which it does choose depends on the run (engine/plan/budget.py `derive`)."""
KEPT = "set in the config"
"""The engine's reason for a dial field it leaves as the config gives it."""


def read_budget(text: str) -> tuple[float, str | None]:
    """The Time budget field's seconds: empty is none; else as the engine reads it ("90", "90s", "10m", "1h")."""
    if not text.strip():
        return 0.0, None
    seconds, problem = parse_duration(text, BUDGET_KEY)
    return seconds or 0.0, problem


def budget_text(seconds: float) -> str:
    """Seconds as the field shows them, read back exactly: "" (none), "1h", "10m", "90s", "2.5s"."""
    if not seconds:
        return ""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{_number(seconds / size)}{unit}"
    return f"{_number(seconds)}s"


def _number(x: float) -> str:
    return str(int(x)) if x == int(x) else repr(x)


def value(cfg: RunConfig, key: str):
    section, name = key.split(".")
    return getattr(getattr(cfg, section), name)


def put(cfg: RunConfig, key: str, new) -> None:
    section, name = key.split(".")
    setattr(getattr(cfg, section), name, new)


DEFAULTS = RunConfig()


@dataclass
class DialPlan:
    """What the dial chooses for the designed run, and the config the studio writes for it."""
    seconds: float
    """The budget; 0: none (`restore` may still give fields back)."""
    choices: dict[str, dict]
    """The engine's choices with their reasons ({key: {"value", "why"}}): what the started event will carry."""
    owned: dict[str, object]
    """The fields the dial chooses here, with its values: shown in the form, written at their defaults."""
    user: set[str]
    """The dial's fields the user set: written as they are (one set to its default is the dial's all the same)."""
    restore: dict[str, object]
    """Fields the dial chose before and no longer does: back to the values they had before it chose."""
    written: RunConfig
    applied: RunConfig
    """The run as it will train: `written` with the dial's choices in it."""
    waiting: str = ""
    """Why the dial chooses nothing yet though a budget is set, or ""."""


class BudgetDial:
    """Which of the dial's fields the form shows as the dial chose them, and which the user took back."""

    def __init__(self) -> None:
        self.user: set[str] = set()
        self.shown: dict[str, object] = {}
        """Fields the form shows as the dial chose them: a change there is the user's."""
        self.before: dict[str, object] = {}
        """What those fields held before the dial chose them: theirs again once the budget is cleared."""

    def load(self, cfg: RunConfig) -> None:
        """A config put in the form (a file, a preset, the session): as the engine reads it, the dial's fields
        off their defaults are the user's."""
        self.user = set(DIAL_KEYS) & set_fields(cfg) if cfg.train.time_budget else set()
        self.shown, self.before = {}, {}

    def notice(self, cfg: RunConfig) -> None:
        """The form's config: a field that no longer shows what the dial put there was changed by the user."""
        for key, shown in list(self.shown.items()):
            if value(cfg, key) != shown:
                self.user.add(key)
                del self.shown[key]
                self.before.pop(key, None)

    def keep_shown(self, cfg: RunConfig, key: str) -> None:
        """Another page put a dial field's default in `cfg` (the Corpus page its tokenizer's size): the dial's
        choice shown there stays, for the engine reads the default as unset all the same."""
        if key in self.shown and value(cfg, key) == value(DEFAULTS, key):
            put(cfg, key, self.shown[key])

    def plan(self, cfg: RunConfig, *, vocab: int, device, world: int = 1, corpus_tokens: int | None = None,
             cache_dir: Path | None = None, fixed: set[str] = frozenset(), corpus_bytes: int | None = None) -> DialPlan:
        """The dial's choices for `cfg` (the form's, a fine-tuning source's fixed fields in it: `fixed`, which the
        dial neither chooses nor gives back); `device`: the studio's (type, peak_flops, memory); `corpus_tokens`:
        the prepared corpus's, None where unknown; `corpus_bytes`: its files' size, from which the engine chooses a
        trained tokenizer's vocabulary before it encodes the corpus (`vocab`, the prepared one's, then gives way)."""
        budget = cfg.train.time_budget
        stale = {k: self.before[k] for k in self.shown if k in self.before and k not in fixed}
        if not budget:  # none (or none readable): the fields it chose are given back
            written = _with(cfg, stale)
            return DialPlan(0.0, {}, {}, set(self.user), stale, written, written)
        base = _with(cfg, {k: value(DEFAULTS, k) for k in DIAL_KEYS if k not in self.user and k not in fixed})
        if any(p.startswith(("model.", "train.")) for p in rules.problems(base)):  # the engine refuses it first
            return DialPlan(budget, {}, {}, set(self.user), {}, base, base, "the budget chooses once the problems "
                            "listed are fixed (there its fields count at their defaults, as the engine reads them)")
        options = self._options(cfg, vocab, device, world, corpus_tokens, cache_dir) | {"corpus_bytes": corpus_bytes}
        first = derive(base, given=_given(base), **options)
        owned = [k for k in DIAL_KEYS if first.choices.get(k, {}).get("why", KEPT) != KEPT]
        stale = {k: v for k, v in stale.items() if k not in owned}
        written = _with(cfg, stale | {k: value(DEFAULTS, k) for k in owned})
        plan = derive(written, given=_given(written), **options)
        applied = written.copy()
        plan.apply(applied)
        sized = options["corpus_tokens"] or cfg.model.objective not in C.STREAM_OBJECTIVES or cfg.finetune.source
        waiting = "" if sized else "the model's shape is chosen once the corpus is prepared (Corpus page)"
        return DialPlan(budget, plan.choices, {k: value(applied, k) for k in owned}, set(self.user), stale, written,
                        applied, waiting)

    def filled(self, plan: DialPlan, form: RunConfig) -> dict[str, object]:
        """The form (`form`, its config now) is about to show `plan`: the values to put in its fields."""
        if not plan.choices and plan.seconds:  # waiting: the form keeps showing the last choice
            return {}
        fill = {k: v for k, v in plan.owned.items() if k not in self.user}
        self.before = {k: self.before.get(k, value(form, k)) for k in fill}
        self.shown = dict(fill)
        return fill | plan.restore

    @staticmethod
    def _options(cfg: RunConfig, vocab: int, device, world: int, corpus_tokens: int | None, cache_dir) -> dict:
        """derive's view of the machine and corpus, as the trainer gives it (engine/train/time_budget.py)."""
        stream = corpus_tokens if cfg.model.objective in C.STREAM_OBJECTIVES else None
        train = round(stream * (1 - cfg.data.val_fraction)) if stream else None  # the split engine/data/encode.py makes
        free = available_ram() if device.type == "cpu" else device.memory
        limit = None if free is None else free * 0.8 if device.type == "cuda" else free * 0.5 / world

        def step_seconds(trial: RunConfig) -> float:  # measured on this machine where this shape was, else counted
            known = known_calibration(trial, vocab, device.type, cache_dir) if cache_dir else None
            return known["step_s"] if known else estimate(trial, vocab_size=vocab, peak_flops=device.peak_flops,
                                                          device_type=device.type, world_size=world).seconds_per_step

        return dict(vocab_size=vocab, step_seconds=step_seconds, device_type=device.type, corpus_tokens=train,
                    val_tokens=stream - train if stream else None, memory_limit=limit, world_size=world)


def _given(cfg: RunConfig) -> set[str]:
    """What the engine counts as set: fields off their defaults, and a fine-tune's shape (its source's)."""
    return set_fields(cfg) | (set(SHAPE_KEYS[:4]) if cfg.finetune.source else set())


def _with(cfg: RunConfig, values: dict[str, object]) -> RunConfig:
    out = cfg.copy()
    for key, new in values.items():
        put(out, key, new)
    return out


def tokenizer_note(plan: DialPlan | None, kind: str, size: int) -> str:
    """The Corpus page's note while the Model page's time budget chooses the run's own vocabulary: the tokenizer
    prepared there (`kind`, `size` entries) is then not the run's, or ""."""
    if plan is None or VOCAB_KEY not in plan.owned or kind != plan.applied.tokenizer.kind:
        return ""
    chosen = plan.owned[VOCAB_KEY]
    if chosen == size:
        return ""
    return (f"The Model page's time budget trains the run's own {kind} tokenizer of {chosen:,} entries (its choice "
            f"for the budget), not this one of {size:,}: set a size here other than "
            f"{value(DEFAULTS, VOCAB_KEY):,} to keep yours.")
