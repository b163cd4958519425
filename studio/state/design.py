"""The designed run, decided once without Qt: given the Model page's form (its config and what it could not
read), the prepared corpus and the chosen device, what the run is (the fine-tuning source's fixed fields
applied), its problems and so whether it can train, the vocabulary it uses, the estimate and the memory and
precision verdicts. The Model page only shows a Design; AppState.design holds the latest, so every view
reads the same figures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.config import schema as C
from engine.config.rules import precision_problem
from engine.core.errors import UserError
from engine.data.corpus_check import corpus_problems
from engine.data.encode import split_problem
from engine.data.files import find_corpus_files
from engine.launch.local import local_plan
from engine.plan import preflight
from engine.plan.estimate import Estimate, calibration_key, estimate, known_calibration, padded_vocab
from engine.plan.memory import available_ram, memory_problem
from engine.plan.vocab import sizes_vocab
from engine.run.folder import CHECKPOINTS_DIR, TOKENIZER_FILE, checkpoints
from engine.run.source import SourceInfo, describe_source
from studio.state.budget import BudgetDial, DialPlan
from studio.state.events import Event
from studio.state.label_head import LabelHead

CHAR_VOCAB_GUESS = 100
"""A char vocabulary before the corpus was prepared: a guess, and the estimate says so (≈)."""


@dataclass(frozen=True)
class CorpusFacts:
    """What the Corpus page measured: the tokenizer settings it prepared with, and its vocabulary and tokens."""
    tokenizer: C.TokenizerConfig | None = None
    vocab: int | None = None
    tokens: int | None = None


@dataclass
class Design:
    config: C.RunConfig
    """The run as it trains: the form's config with the fine-tuning source's fixed fields and a time budget's
    choices in it."""
    problems: list[str]
    source: SourceInfo | None
    fixed: dict[tuple[str, str], object]
    """(section, key) -> value the source fixes: architecture, shape, tokenizer, vocabulary."""
    vocab: int
    vocab_from: str
    """source | corpus | form | guess: the one place the vocabulary comes from."""
    device: object
    world: int
    estimate: Estimate | None = None
    """None when the shape is one the engine refuses."""
    measured: dict | None = None
    measurable: bool = False
    memory_problem: str | None = None
    precision_problem: str | None = None
    counted: C.RunConfig | None = None
    """The config the estimate counts: `config` with a classifier's labels read from its corpus where the form
    leaves them to it."""
    head_note: str = ""
    """Why a classifier's label head is not counted in the estimate yet (its corpus cannot be read), or ""."""
    budget: DialPlan | None = None
    """What a time budget chooses (studio/state/budget.py)."""
    written: C.RunConfig | None = None
    """The config the studio writes: `config` with the fields a time budget chooses at their defaults."""

    @property
    def can_train(self) -> bool:
        return not self.problems

    @property
    def approx(self) -> str:
        """ "≈ " before counts made from a guessed vocabulary."""
        return "≈ " if self.vocab_from == "guess" else ""

    @property
    def calibration_key(self) -> str:
        return calibration_key(self.config, self.vocab, "cpu")


def pick_device(devices: list, key: str):
    """The device a train.device value names ("auto": the first GPU, else the CPU; "cuda:0,1": its first)."""
    key = key.split(",")[0]
    if key == "auto":
        return next((d for d in devices if d.type == "cuda"), devices[0])
    return next((d for d in devices if d.key == key), devices[0])


def source_tokenizer(path: str, info: SourceInfo) -> tuple[int | None, str | None]:
    """The vocabulary and kind of the source's own tokenizer (the one a fine-tune keeps), from its tokenizer.json
    (a Hugging Face folder without one: its config's vocabulary)."""
    p = Path(path).expanduser()
    found = [p / TOKENIZER_FILE]
    if info.kind == "run" and (done := checkpoints(p)):
        found.insert(0, p / CHECKPOINTS_DIR / done[-1][0] / TOKENIZER_FILE)
    elif info.kind == "checkpoint":
        found.append(p.parent.parent / TOKENIZER_FILE)
    tokenizer = next((f for f in found if f.is_file()), None)
    if tokenizer is None:
        return (info.shape.get("vocab_size") if info.kind == "hf" else None), None
    from engine.data.tokenizer import Tokenizer

    try:
        loaded = Tokenizer.load(tokenizer)
    except UserError:
        return None, None
    return loaded.vocab_size, (None if info.kind == "hf" else loaded.kind)


def source_fields(info: SourceInfo, vocab: int | None, kind: str | None) -> dict[tuple[str, str], object]:
    """What a source fixes in the form. The model's vocabulary follows the tokenizer's (0) where the source's is
    just the tokenizer's padded, so one vocabulary is shown, the tokenizer's."""
    fixed: dict[tuple[str, str], object] = {("model", k): v for k, v in info.shape.items()}
    fixed["model", "arch"] = info.arch
    if vocab:
        fixed["tokenizer", "vocab_size"] = vocab
        if info.shape.get("vocab_size") == padded_vocab(vocab):
            fixed["model", "vocab_size"] = 0
    if kind in ("char", *C.TRAINED_TOKENIZERS):
        fixed["tokenizer", "kind"] = kind
    return fixed


class DesignState:
    """The latest Design and what deciding it remembers: the sources read and the corpus checks asked."""

    def __init__(self) -> None:
        self.changed = Event()
        """() a new Design."""
        self.current: Design | None = None
        self._sources: dict[str, tuple[SourceInfo | None, int | None, str | None, str]] = {}
        self._corpus_check: tuple[tuple, list[str]] = ((), [])
        self._sizes: dict[str, int | None] = {}
        self.label_head = LabelHead()
        self.budget = BudgetDial()
        """Which fields a time budget chooses and which the user took back."""

    def recheck(self) -> None:
        """Forget what was read from disk (the corpus or a source may have changed there)."""
        self._corpus_check, self._sources, self._sizes = ((), []), {}, {}
        self.label_head.forget()

    def corpus_size(self, cfg: C.RunConfig) -> int | None:
        """The corpus files' bytes, which a budget sizes a trained tokenizer by (only asked where it would), or None
        where they cannot be read (the corpus's problems say why)."""
        if not sizes_vocab(cfg):
            return None
        if cfg.data.path not in self._sizes:
            try:
                self._sizes[cfg.data.path] = find_corpus_files(cfg.data.path).size if cfg.data.path else None
            except (UserError, OSError):
                self._sizes[cfg.data.path] = None
        return self._sizes[cfg.data.path]

    def read_source(self, path: str) -> tuple[SourceInfo | None, int | None, str | None, str]:
        """(its description, its tokenizer's vocabulary and kind, why it cannot be read)."""
        if path not in self._sources:
            try:
                info = describe_source(path)
            except UserError as e:
                self._sources[path] = (None, None, None, str(e))
            else:
                vocab, kind = source_tokenizer(path, info)
                self._sources[path] = (info, vocab, kind, "")
        return self._sources[path]

    def corpus_problems(self, cfg: C.RunConfig, tokens: int | None) -> list[str]:
        """What the engine would refuse about the corpus for this run (asked again only when it could change)."""
        d, m = cfg.data, cfg.model
        key = (d.path, d.text_column, d.source_column, d.target_column, m.objective, cfg.task.label_column,
               m.block_size, m.target_block_size, cfg.tokenizer.kind)
        if key != self._corpus_check[0]:
            self._corpus_check = (key, corpus_problems(cfg))
        problems = list(self._corpus_check[1])
        if tokens and not cfg.finetune.source and m.objective not in C.PAIR_OBJECTIVES:
            problems += filter(None, [split_problem(tokens, d.val_fraction, m.block_size)])
        return problems

    def decide(self, cfg: C.RunConfig, form_problems: list[str], corpus: CorpusFacts, devices: list,
               cache_dir: Path | None = None) -> Design:
        """Every decision about the designed run, once; the result becomes `current`."""
        cfg = cfg.copy()
        self.budget.notice(cfg)
        problems = list(form_problems)
        info = vocab = kind = None
        fixed: dict = {}
        if cfg.finetune.source:
            info, vocab, kind, error = self.read_source(cfg.finetune.source)
            problems += [error] if error else []
        if info is not None:
            fixed = source_fields(info, vocab, kind)
            for (section, key), value in fixed.items():
                setattr(getattr(cfg, section), key, value)
        vocab, vocab_from = vocabulary(cfg, vocab if info is not None else None, corpus)
        device = pick_device(devices, cfg.train.device)
        world, _ = local_plan(cfg.train.device, cfg.train.processes)
        budget = self.budget.plan(cfg, vocab=vocab, device=device, world=world, corpus_tokens=corpus.tokens,
                                  cache_dir=cache_dir, fixed={f"{s}.{k}" for s, k in fixed},
                                  corpus_bytes=self.corpus_size(cfg))
        if budget.applied.tokenizer.vocab_size != cfg.tokenizer.vocab_size:  # the dial's: trained to it at the start
            vocab, vocab_from = vocabulary(budget.applied, None, corpus)
        cfg = budget.written  # what the engine reads and checks before it applies a budget's choices
        problems += preflight.problems(cfg)
        if not cfg.name.strip():
            problems.append("give the run a name")
        problems += self.corpus_problems(cfg, corpus.tokens)
        cfg = budget.applied
        d = Design(cfg, problems, info, fixed, vocab, vocab_from, device, world, budget=budget, written=budget.written)
        if not any(p.startswith("model.") for p in problems):
            d.measurable = device.type == "cpu" and world == 1
            d.measured = known_calibration(cfg, vocab, "cpu", cache_dir) if d.measurable and cache_dir else None
            d.counted, d.head_note = self.label_head.counted(cfg, cache_dir)  # the labels its head learns
            d.estimate = estimate(d.counted, vocab_size=vocab, peak_flops=device.peak_flops, device_type=device.type,
                                  world_size=world, measured=d.measured)
            cpu = device.type == "cpu"  # what the trainer would refuse (auto batch: even one sequence too many)
            checked = d.counted if not cfg.train.auto_batch_size else _one_sequence(d.counted)
            d.memory_problem = memory_problem(checked, vocab_size=vocab, device_type=device.type,
                                              available=available_ram() if cpu else device.memory,
                                              where="this machine" if cpu else device.name)
            d.precision_problem = precision_problem(cfg.train.precision, device.type, device.name,
                                                    device.capability)
            problems += [p for p in (d.memory_problem, d.precision_problem) if p]
        self.current = d
        self.changed.emit()
        return d


def vocabulary(cfg: C.RunConfig, source: int | None, corpus: CorpusFacts) -> tuple[int, str]:
    """The vocabulary the run uses, from one place: the fine-tuning source's tokenizer, else the prepared corpus's
    (while the form's tokenizer is the one it was prepared with), else the form's (a guess for char)."""
    if source:
        return source, "source"
    if corpus.vocab and _same_tokenizer(corpus.tokenizer, cfg.tokenizer):
        return corpus.vocab, "corpus"
    if cfg.tokenizer.kind == "char":
        return CHAR_VOCAB_GUESS, "guess"
    return cfg.tokenizer.vocab_size, "form"


def _same_tokenizer(a: C.TokenizerConfig | None, b: C.TokenizerConfig) -> bool:
    """The corpus's tokenizer is the form's (a char vocabulary is what the corpus holds, whatever the size says)."""
    return a is not None and a.kind == b.kind and (a.kind == "char" or (a.vocab_size, a.path) == (b.vocab_size, b.path))


def _one_sequence(cfg: C.RunConfig) -> C.RunConfig:
    """The run at a micro-batch of one: the least an automatic batch size can choose."""
    one = cfg.copy()
    one.train.batch_size = 1
    return one
