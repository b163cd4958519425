"""The run config: typed dataclasses that round-trip through TOML and list every problem at once.

The CLI and the studio build the same `RunConfig`. Each section owns its defaults; values are plain
(numbers, strings, lists) and implementations are chosen by name (`position = "rope"`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config.interventions import read_entries
from engine.config.shape import Shape
from engine.config.values import coerce, parse_duration, suggest
from engine.core.errors import ConfigError, UserError
from engine.core.tomlio import dumps_toml, parse_toml, read_toml

DEMO_PREFIX = "demo:"
"""A data.path of `demo:NAME` trains on the built-in demo corpus NAME (made on first use)."""

FORMAT_VERSION = 1

TRAINED_TOKENIZERS = ("bpe", "wordpiece", "unigram")
"""The tokenizer kinds trained to a vocabulary of `tokenizer.vocab_size` tokens (char takes the corpus's characters)."""
TOKENIZER_KINDS = ("char", *TRAINED_TOKENIZERS, "file")
DOCUMENT_KINDS = ("paragraph", "line", "file")
LONG_PAIRS = ("refuse", "truncate", "drop")
POSITIONS = ("learned", "sinusoidal", "rope")
NORMS = ("layernorm", "rmsnorm")
MLPS = ("gelu", "gelu_tanh", "swiglu")
OBJECTIVES = ("causal", "masked", "classify", "seq2seq", "instruct", "tag", "span")
PAIR_OBJECTIVES = ("seq2seq", "instruct")
STREAM_OBJECTIVES = ("causal", "masked")
"""Trained on one token stream cut into windows: the objectives whose shape a time budget sizes to the corpus."""
"""Objectives that read source -> target pairs (seq2seq also pretrains on plain text by denoising)."""
ARCHS = ("auto", "gpt", "bert", "t5")
FINETUNE_METHODS = ("full", "lora")
LORA_TARGETS = ("attention", "attention_out", "mlp_in", "mlp_out")
OPTIMIZERS = ("adamw", "adam", "sgd", "adagrad", "lamb", "adafactor", "muon")
OPTIMIZER_HINTS = {
    "adamw": "the default: Adam with weight decay kept apart from the gradient (Loshchilov & Hutter, 2019)",
    "adam": "the original Adam: weight decay added to the gradient as L2, as older papers train",
    "sgd": "SGD with momentum: the fewest state bytes, but needs a tuned learning rate for Transformers",
    "adagrad": "a rate per parameter that only shrinks: rare features, short runs",
    "lamb": "Adam scaled per tensor by a trust ratio (You et al., 2019): very large batches",
    "adafactor": "factored second moments (Shazeer & Stern, 2018): little optimizer memory for big models",
    "muon": "orthogonalized momentum for the blocks' matrices, AdamW for the rest (Jordan et al., 2024): "
            "today's fastest to a given loss; same learning rate as AdamW",
}
SCHEDULES = ("cosine", "linear", "constant", "wsd")
"""wsd: warm up, hold (stable), then decay over the last quarter of the steps (the last half of a train.time_budget)."""
PRECISIONS = ("auto", "fp32", "bf16", "fp16", "fp8")
PRECISION_HINTS = {
    "auto": "bf16 on GPUs that have it, fp32 elsewhere",
    "fp32": "full precision: the CPU's fastest, and the reference for the others",
    "bf16": "16-bit activations with fp32's range: half the activation memory, the tensor cores' rate on GPUs",
    "fp16": "16-bit with a loss scaler: for GPUs without bf16 (before Ampere)",
    "fp8": "the blocks' matmuls in 8-bit floats (torchao), for GPUs with fp8 tensor cores (H100/H200, RTX 40xx); "
           "emulated on CPU, slower, to see what it does to the loss",
}
HEALTH_POLICIES = ("skip", "rollback", "stop")
COMPILE_MODES = ("auto", "on", "off")
PARALLELS = ("ddp", "fsdp")
WANDB_MODES = ("offline", "online")


@dataclass
class DataConfig:
    path: str = ""
    """A text/Markdown/JSONL/CSV/Parquet file, a folder of them, or a `save_to_disk` dataset folder."""
    text_column: str = "text"
    """The column holding the text, for JSONL/CSV/Parquet and saved datasets."""
    documents: str = "paragraph"
    """What one document of a text file is: paragraph (blank-line separated) | line (one record a line, blank lines
    dropped: names, sentences) | file (the whole file). A table's document is its row."""
    val_fraction: float = 0.1
    """The last fraction of the token stream is held out for validation (deterministic)."""
    test_fraction: float = 0.0
    """A share held out as a test set, on which the final model is evaluated once at the end of the run (0 = none):
    of a token stream, the stretch just before validation; of pairs and labelled rows, after their shuffle."""
    source_column: str = "source"
    """seq2seq and instruct: the column holding each pair's source (the prompt)."""
    target_column: str = "target"
    """seq2seq and instruct: the column holding each pair's target (the response)."""
    long_pairs: str = "refuse"
    """seq2seq and instruct pairs longer than the model takes: refuse (a too-long target stops the run, naming its
    row; long sources are cut) | truncate (cut sources and targets to fit) | drop (leave such pairs out). How many
    were cut or dropped is said in the run's log. Conversations likewise: refused, cut at the context's end, or
    left out."""
    encoding: str = "utf-8"
    """Text encoding of text files; anything else is decoded and re-encoded as UTF-8."""
    normalize: str = ""
    """Unicode normalization: "" (none), "NFC", "NFKC"."""
    collapse_whitespace: bool = False
    """Collapse runs of spaces and tabs, strip trailing spaces."""
    dedupe: bool = False
    """Drop exact-duplicate documents."""
    min_chars: int = 0
    """Drop documents shorter than this many characters."""
    cache_dir: str = ""
    """Where encoded corpora are cached; "" means ~/.cache/attention-studio."""


@dataclass
class TokenizerConfig:
    kind: str = "char"
    """char | bpe | wordpiece | unigram | file (then `path` is a tokenizer.json)."""
    vocab_size: int = 8192
    """Target vocabulary for bpe, wordpiece and unigram; a char vocabulary is what the corpus holds."""
    path: str = ""
    """A tokenizer.json to load when kind = "file"."""


@dataclass
class ModelConfig(Shape):
    """The model's shape (engine/config/shape.py), its vocabulary, objective and architecture."""

    dropout: float = 0.0
    vocab_size: int = 0
    """0 takes the tokenizer's vocabulary (rounded up to a multiple of 64 for speed when over 1024)."""
    objective: str = "causal"
    """causal (GPT-style next token) | masked (BERT-style) | classify (text -> label) | seq2seq (an
    encoder-decoder: source -> target pairs, or T5 span corruption on plain text) | instruct (a decoder
    learns the responses to prompts: pairs, loss on the responses only; or conversations, JSONL `messages` or
    ShareGPT `conversations`, loss on the assistant's turns) | tag (a tag for every word: named
    entities, from CoNLL-style text or JSONL tokens/tags lists in BIO tags) | span (extractive question answering:
    an encoder finds each question's answer in its context, from JSONL/CSV rows or SQuAD's JSON)."""
    arch: str = "auto"
    """auto (bert for masked, tag and span, t5 for seq2seq, else gpt or the fine-tuned model's) | gpt (causal
    decoder) | bert (encoder) | t5 (encoder-decoder)."""
    target_block_size: int = 0
    """seq2seq: the longest target in tokens (block_size is the source's); 0 = block_size."""


@dataclass
class TaskConfig:
    mask_prob: float = 0.15
    """masked: the share of tokens chosen for prediction (of those, 80% become [MASK], 10% random, 10% kept);
    seq2seq on plain text: the share dropped in spans of mean length 3 (T5's denoising)."""
    whole_word_mask: bool = False
    """masked: choose whole words, so every piece of a chosen word is masked together."""
    nsp: bool = False
    """masked: also predict whether sentence B follows sentence A (next-sentence prediction)."""
    label_column: str = "label"
    """classify: the column holding each row's label in a CSV/JSONL/Parquet corpus."""
    labels: list[str] = field(default_factory=list)
    """classify: the label names in order; empty = every label found, sorted. tag: the tags in order; empty = O,
    then B- and I- of every entity type found, sorted."""
    label_smoothing: float = 0.0
    """seq2seq: the share of each target's probability spread over the whole vocabulary."""
    doc_stride: int = 0
    """span: the tokens two windows of a context longer than the model share (0 = a quarter of
    model.block_size); a question's answer is looked for in every window."""
    metric_samples: int = 64
    """seq2seq and instruct: validation sources the model writes targets for at each evaluation (BLEU, chrF,
    ROUGE-L, exact match; of conversations, held-out assistant turns); 0 = loss only."""


@dataclass
class FinetuneConfig:
    source: str = ""
    """Start from a run folder, one of its checkpoints, or a Hugging Face GPT-2/BERT folder; "" = from scratch."""
    method: str = "full"
    """full (train every weight) | lora (train small adapters; the base stays frozen)."""
    lora_rank: int = 8
    lora_alpha: float = 16.0
    lora_dropout: float = 0.05
    lora_targets: list[str] = field(default_factory=lambda: ["attention", "attention_out"])
    """Which projections get adapters: attention, attention_out, mlp_in, mlp_out."""


@dataclass
class TrainConfig:
    batch_size: int = 12
    """Sequences per micro-batch per process."""
    auto_batch_size: bool = False
    """Choose the largest micro-batch that fits the device's free memory by the estimate (written to run.toml)."""
    grad_accum: int = 1
    max_steps: int = 2000
    time_budget: float = 0.0
    """Seconds the run may take, its evaluations included (or "90s", "10m", "1h"); 0 = none. With a budget the
    run ends on time, its learning rate scheduled by time, and the fields left at their defaults (shape, batch,
    learning rate, schedule, evaluations) are chosen for the corpus and the machine (engine/plan/budget.py)."""
    optimizer: str = "adamw"
    """adamw | adam | sgd | adagrad | lamb | adafactor (the form says when each helps)."""
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_steps: int = 100
    schedule: str = "cosine"
    decay_steps: int = 0
    """Steps over which the rate decays to min_lr, then holds there; 0 = max_steps. Extending a finished run sets
    it to the steps it had, so the extra steps train on at the final rate instead of re-stretching the decay."""
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    momentum: float = 0.9
    """SGD momentum."""
    grad_clip: float = 1.0
    """Clip the global gradient norm to this; 0 disables."""
    eval_interval: int = 250
    eval_batches: int = 20
    log_interval: int = 0
    """Steps between step events; 0 = every step on CPU, every 10 on GPUs (reading the loss syncs)."""
    checkpoint_interval: int = 0
    """0 = checkpoint at every evaluation."""
    keep_last: int = 2
    keep_best: bool = True
    early_stopping: int = 0
    """Stop after this many evaluations without a better validation loss; 0 never stops early."""
    target_loss: float = 0.0
    """Stop at the first evaluation whose validation loss is at or below this (a speedrun's target); 0 never."""
    sample_interval: int = 0
    """0 = sample at every evaluation; -1 never."""
    sample_prompts: list[str] = field(default_factory=lambda: ["\n"])
    sample_tokens: int = 120
    probe_text: str = ""
    """A text whose attention maps are recorded at each evaluation ("" = first 64 tokens of val)."""
    concept_regex: str = ""
    """A concept probed at each evaluation ("" = none; causal and masked runs): a regex over the text, as
    `engine concept --regex`; a linear probe per layer on 2048 validation positions, its accuracy per layer in
    the eval event (engine/probes/concept_watch.py). It costs 1.5-2.4% of the baby recipe's run at its default
    cadence (3% of a 600-step one), measured in turns against the run without it (bench/README.md)."""
    seed: int = 1337
    device: str = "auto"
    """auto | cpu | cuda | cuda:N | cuda:0,1,... (data parallel over those GPUs, one process each)."""
    processes: int = 1
    """Processes on this machine, data parallel (one per GPU; on CPU they share the cores, gloo)."""
    parallel: str = "ddp"
    """ddp (each process holds the model) | fsdp (weights, gradients, optimizer state sharded: big models)."""
    precision: str = "auto"
    """auto (bf16 on GPUs that have it, else fp32) | fp32 | bf16 | fp16 | fp8 (the blocks' matmuls in 8-bit
    floats through torchao, the rest bf16: GPUs with fp8 tensor cores; emulated, slowly, on CPU)."""
    compile: str = "auto"
    """auto (where compiling pays for itself: CUDA models of 10M+ parameters for 500+ steps, CPU runs of ten
    minutes or more) | on | off. A compile that fails falls back to eager with a warning."""
    threads: int = 0
    """CPU threads for torch; 0 = automatic: one per physical core, less the cores other work keeps busy."""
    health_policy: str = "skip"
    """On a NaN/inf loss: skip the step (up to max_bad_steps in a row), then rollback or stop."""
    max_bad_steps: int = 5
    spike_factor: float = 3.0
    """A loss above spike_factor x its recent mean is reported as a spike."""
    interventions: list[dict] = field(default_factory=list)
    """[[train.interventions]] step = N, action = "freeze" | "zero" | "reinit", target = "h.1.attn.head.2" (a head),
    "h.1.mlp", "h.1.attn" or "h.1" (a layer): applied before step N + 1 (engine/config/interventions.py)."""
    tensorboard: bool = False
    out_dir: str = "runs/run"


@dataclass
class TrackConfig:
    """Trackers the run also reports to (train.tensorboard writes TensorBoard events). Each is optional:
    ./dev install trackers (pip install -e ".[trackers]")."""
    mlflow: bool = False
    mlflow_uri: str = ""
    """An MLflow tracking URI (a server's http://...); "" = a local store, mlflow.db beside the run folders."""
    experiment: str = ""
    """The MLflow experiment and the W&B project ("" = attention-studio)."""
    wandb: bool = False
    wandb_mode: str = "offline"
    """offline (nothing leaves the machine until you `wandb sync` the run's wandb/ folder) | online."""


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    track: TrackConfig = field(default_factory=TrackConfig)
    name: str = ""
    format: int = FORMAT_VERSION
    sweep: str = ""
    """meta.sweep: the sweep this run is a point of (engine/runqueue/sweep.py), and meta.swept its fields."""
    swept: list[str] = field(default_factory=list)

    SECTIONS = ("data", "tokenizer", "model", "task", "finetune", "train", "track")

    @property
    def arch(self) -> str:
        """gpt, bert or t5: what the model is, given the objective (a fine-tune's source may decide later)."""
        if self.model.arch != "auto":
            return self.model.arch
        return {"masked": "bert", "seq2seq": "t5", "tag": "bert", "span": "bert"}.get(self.model.objective, "gpt")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"meta": {"format": self.format, "name": self.name}}
        if self.sweep:
            out["meta"] |= {"sweep": self.sweep, "swept": list(self.swept)}
        for s in self.SECTIONS:
            out[s] = dataclasses.asdict(getattr(self, s))
        return out

    def to_toml(self) -> str:
        return dumps_toml(self.to_dict())

    def copy(self) -> RunConfig:
        return from_dict(self.to_dict())


def from_dict(data: dict[str, Any], *, base_dir: Path | None = None) -> RunConfig:
    """Build a RunConfig from plain data; unknown sections or keys and wrong types are problems."""
    problems: list[str] = []
    cfg = RunConfig()
    for key in data:
        if key not in (*RunConfig.SECTIONS, "meta"):
            problems.append(f"unknown section [{key}]{suggest(key, RunConfig.SECTIONS)}")
    meta = data.get("meta", {})
    cfg.name = str(meta.get("name", "") or "")
    cfg.sweep, cfg.swept = str(meta.get("sweep", "") or ""), [str(f) for f in meta.get("swept", []) or []]
    cfg.format = int(meta.get("format", FORMAT_VERSION) or FORMAT_VERSION)
    if cfg.format > FORMAT_VERSION:
        problems.append(f"this run uses format {cfg.format}, newer than this engine's {FORMAT_VERSION}: update")
    for section in RunConfig.SECTIONS:
        values = data.get(section, {})
        if not isinstance(values, dict):
            problems.append(f"[{section}] must be a table")
            continue
        target = getattr(cfg, section)
        fields = {f.name: f for f in dataclasses.fields(target)}
        for key, value in values.items():
            if key not in fields:
                problems.append(f"unknown key {section}.{key}{suggest(key, fields)}")
                continue
            if (section, key) == ("train", "time_budget") and isinstance(value, str):
                value, problem = parse_duration(value, "train.time_budget")  # "10m" -> 600.0
                if problem:
                    problems.append(problem)
                    continue
            if (section, key) == ("train", "interventions"):  # a list of tables, not of strings
                value, found = read_entries(value)
                problems.extend(found)
                target.interventions = value
                continue
            if (section, key) == ("train", "compile") and isinstance(value, bool):
                value = "on" if value else "off"  # format 1 configs wrote true/false
            coerced, problem = coerce(value, getattr(target, key), f"{section}.{key}")
            if problem:
                problems.append(problem)
            else:
                setattr(target, key, coerced)
    if problems:
        raise ConfigError(problems)
    if base_dir is not None:
        for dotted in PATH_KEYS:
            section, key = dotted.split(".")
            target = getattr(cfg, section)
            setattr(target, key, _resolve(getattr(target, key), base_dir))
    return cfg


PATH_KEYS = ("data.path", "data.cache_dir", "tokenizer.path", "finetune.source", "train.out_dir")
"""Relative paths in a config file are read from the file's folder; given with --set, from the caller's."""


def load(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """Read a TOML config; relative paths in it are the config file's folder's, those in `overrides` the
    current directory's."""
    path = Path(path)
    data = read_toml(path)
    apply_overrides(data, overrides or [], base_dir=Path.cwd())
    return from_dict(data, base_dir=path.resolve().parent)


def loads(text: str, *, base_dir: Path | None = None) -> RunConfig:
    return from_dict(parse_toml(text), base_dir=base_dir)


def apply_overrides(data: dict, overrides: list[str], *, base_dir: Path | None = None) -> None:
    """Apply `section.key=value` strings; the value is parsed as TOML, or taken as a string (a relative path
    is made absolute against `base_dir`)."""
    for item in overrides:
        if "=" not in item or "." not in item.split("=", 1)[0]:
            raise UserError(f"--set expects section.key=value, got {item!r}")
        dotted, raw = item.split("=", 1)
        section, key = dotted.strip().split(".", 1)
        try:
            value = parse_toml(f"v = {raw}")["v"]
        except UserError:
            value = raw
        if base_dir is not None and f"{section}.{key}" in PATH_KEYS and isinstance(value, str):
            value = _resolve(value, base_dir)
        data.setdefault(section, {})[key] = value


def _resolve(path: str, base_dir: Path) -> str:
    if not path or path.startswith(DEMO_PREFIX):
        return path
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else (base_dir / p).resolve())
