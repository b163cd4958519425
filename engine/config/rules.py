"""What a run config may not say: every problem at once, each naming its field and the fix (a resumed
fine-tune may outlive its source)."""

from __future__ import annotations

import importlib.util
import math
import re
from collections.abc import Callable
from pathlib import Path

from engine.config.interventions import entry_problems
from engine.config.schema import (
    ARCHS,
    COMPILE_MODES,
    DOCUMENT_KINDS,
    FINETUNE_METHODS,
    HEALTH_POLICIES,
    LONG_PAIRS,
    LORA_TARGETS,
    MLPS,
    NORMS,
    OBJECTIVES,
    OPTIMIZERS,
    PAIR_OBJECTIVES,
    PARALLELS,
    POSITIONS,
    PRECISIONS,
    SCHEDULES,
    STREAM_OBJECTIVES,
    TOKENIZER_KINDS,
    TRAINED_TOKENIZERS,
    WANDB_MODES,
    RunConfig,
)
from engine.config.values import duration_problem, suggest


def problems(cfg: RunConfig, *, resuming: bool = False,
             source_check: Callable[[str, str, int], str | None] | None = None) -> list[str]:
    """Every problem, each naming its field and the fix (a resumed fine-tune may outlive its source).
    `source_check(source, objective, block_size)`: why a fine-tuning source cannot serve this run, read from
    disk by the caller (engine/plan/preflight.py), so the rules read nothing but the config."""
    p: list[str] = []
    d, t, m, tr = cfg.data, cfg.tokenizer, cfg.model, cfg.train
    if not d.path:
        p.append("data.path is empty: name a corpus file or folder")
    if not 0.0 < d.val_fraction < 0.9:
        p.append(f"data.val_fraction must be between 0 and 0.9, got {d.val_fraction}")
    if d.normalize not in ("", "NFC", "NFKC", "NFD", "NFKD"):
        p.append(f'data.normalize must be "", "NFC" or "NFKC", got {d.normalize!r}')
    if d.min_chars < 0:
        p.append("data.min_chars must be >= 0")
    _choice(p, "data.documents", d.documents, DOCUMENT_KINDS)
    _choice(p, "data.long_pairs", d.long_pairs, LONG_PAIRS)
    _choice(p, "tokenizer.kind", t.kind, TOKENIZER_KINDS)
    if t.kind == "file" and not t.path:
        p.append('tokenizer.kind = "file" needs tokenizer.path = "tokenizer.json"')
    if t.kind in TRAINED_TOKENIZERS and t.vocab_size < 300:
        p.append(f"tokenizer.vocab_size {t.vocab_size} is too small for {t.kind}: use at least 300 "
                 f"(bpe alone needs 256 byte tokens)")
    if t.vocab_size > 1_000_000:
        p.append(f"tokenizer.vocab_size {t.vocab_size} is too large (at most 1,000,000)")
    for name in ("n_layer", "n_head", "n_embd", "block_size"):
        if getattr(m, name) < 1:
            p.append(f"model.{name} must be at least 1, got {getattr(m, name)}")
    if m.n_head >= 1 and m.n_embd >= 1 and m.n_embd % m.n_head:
        even = 2 if m.position == "rope" else 1  # rope needs an even head size: the suggestions keep every rule
        fits = [h for h in range(1, m.n_embd + 1) if m.n_embd % (h * even) == 0]
        heads = min(fits, key=lambda h: (abs(h - m.n_head), -h)) if fits else None
        unit = m.n_head * even
        width = max(unit, min((m.n_embd // unit * unit, -(-m.n_embd // unit) * unit),
                              key=lambda w: (abs(w - m.n_embd), -w)))
        p.append(f"model.n_head ({m.n_head}) must divide model.n_embd ({m.n_embd}): try "
                 + (f"n_head = {heads} or " if heads else "") + f"n_embd = {width}")
    elif m.position == "rope" and m.n_head >= 1 and (m.n_embd // m.n_head) % 2:
        p.append(f"rope needs an even head size; n_embd / n_head = {m.n_embd // m.n_head}")
    if not 0.0 <= m.dropout < 1.0:
        p.append(f"model.dropout must be in [0, 1), got {m.dropout}")
    if m.vocab_size < 0:
        p.append("model.vocab_size must be >= 0 (0 = the tokenizer's)")
    for key, choices in (("position", POSITIONS), ("norm", NORMS), ("mlp", MLPS), ("objective", OBJECTIVES),
                         ("arch", ARCHS)):
        _choice(p, f"model.{key}", getattr(m, key), choices)
    p.extend(_validate_task(cfg, resuming, source_check))
    for name in ("batch_size", "grad_accum", "max_steps", "eval_batches", "sample_tokens", "max_bad_steps"):
        if getattr(tr, name) < 1:
            p.append(f"train.{name} must be at least 1, got {getattr(tr, name)}")
    if tr.eval_interval < 1:
        p.append(f"train.eval_interval must be at least 1, got {tr.eval_interval}")
    if not tr.lr > 0:
        p.append(f"train.lr must be positive, got {tr.lr}")
    elif tr.min_lr < 0 or tr.min_lr > tr.lr:
        p.append(f"train.min_lr must be between 0 and train.lr ({tr.lr}), got {tr.min_lr}")
    if tr.warmup_steps < 0:
        p.append("train.warmup_steps must be >= 0")
    if tr.weight_decay < 0:
        p.append("train.weight_decay must be >= 0")
    if not (0 <= tr.beta1 < 1 and 0 <= tr.beta2 < 1):
        p.append("train.beta1 and train.beta2 must be in [0, 1)")
    if not math.isfinite(tr.target_loss) or tr.target_loss < 0:
        p.append("train.target_loss must be a number >= 0 (0: train all the steps)")
    if not math.isfinite(tr.time_budget) or tr.time_budget < 0:
        p.append(duration_problem("train.time_budget", tr.time_budget))
    if tr.grad_clip < 0:
        p.append("train.grad_clip must be >= 0 (0 disables clipping)")
    for name in ("log_interval", "checkpoint_interval", "early_stopping", "threads", "decay_steps"):
        if getattr(tr, name) < 0:
            p.append(f"train.{name} must be >= 0")
    if tr.keep_last < 1:
        p.append("train.keep_last must be at least 1")
    if tr.spike_factor <= 1:
        p.append("train.spike_factor must be above 1")
    p.extend(_concept_problems(tr.concept_regex, m.objective))
    p.extend(entry_problems(tr.interventions, arch=cfg.arch, n_layer=m.n_layer, n_head=m.n_head,
                            n_encoder_layer=m.n_encoder_layer, parallel=tr.parallel, method=cfg.finetune.method,
                            shape_known=not cfg.finetune.source))  # a fine-tune's: its source's, checked later
    for key, choices in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("precision", PRECISIONS),
                         ("health_policy", HEALTH_POLICIES), ("compile", COMPILE_MODES), ("parallel", PARALLELS)):
        _choice(p, f"train.{key}", getattr(tr, key), choices)
    if tr.parallel == "fsdp" and cfg.finetune.method == "lora":
        p.append('train.parallel = "fsdp" with LoRA: the adapters are small, use "ddp"')
    if tr.parallel == "fsdp" and tr.optimizer == "muon":
        p.append('train.optimizer = "muon" orthogonalizes whole matrices, which "fsdp" splits: use "ddp"')
    gpus = tr.device[5:].split(",") if tr.device.startswith("cuda:") else []
    if not (tr.device in ("auto", "cpu", "cuda", "mps") or gpus and all(g.strip().isdigit() for g in gpus)):
        p.append(f'train.device must be auto, cpu, cuda, cuda:N or cuda:0,1,..., got {tr.device!r}')
    elif len(set(gpus)) != len(gpus):
        p.append(f"train.device lists a GPU twice: {tr.device}")
    if tr.processes < 1:
        p.append("train.processes must be at least 1")
    elif len(gpus) > 1 and tr.processes not in (1, len(gpus)):
        p.append(f"train.device names {len(gpus)} GPUs, so train.processes must be {len(gpus)} (or 1), "
                 f"got {tr.processes}")
    if not tr.out_dir:
        p.append("train.out_dir is empty: name the run folder")
    if not tr.sample_prompts:
        tr.sample_prompts = ["\n"]
    _choice(p, "track.wandb_mode", cfg.track.wandb_mode, WANDB_MODES)
    if tr.precision == "fp8" and importlib.util.find_spec("torchao") is None:
        p.append('train.precision = "fp8" needs the torchao package: ./dev install fp8 (or pip install torchao)')
    trackers = (("train.tensorboard", tr.tensorboard, "tensorboard"), ("track.mlflow", cfg.track.mlflow, "mlflow"),
                ("track.wandb", cfg.track.wandb, "wandb"))
    for key, wanted, package in trackers:
        if wanted and importlib.util.find_spec(package) is None:
            p.append(f"{key} needs the {package} package, which is installed with the trackers: ./dev install "
                     f"trackers (or pip install {package})")
    return p


def _concept_problems(regex: str, objective: str) -> list[str]:
    """train.concept_regex: a regex that compiles, on a run with a token stream to label."""
    if not regex:
        return []
    if objective not in STREAM_OBJECTIVES:
        return [f"train.concept_regex labels a language model's validation tokens (a causal or masked run), not a "
                f"{objective} run's: leave it empty"]
    try:
        re.compile(regex)
    except re.error as e:
        return [f"train.concept_regex {regex!r} does not compile: {e}"]
    return []


FP8_MIN_CAPABILITY = (8, 9)
"""fp8 tensor cores: Ada (RTX 40xx, L4, L40) and Hopper (H100, H200) onward."""


def precision_problem(precision: str, device_type: str, gpu_name: str = "",
                      capability: tuple[int, int] | None = None) -> str | None:
    """What a precision cannot do on a device (the GPU's compute capability, where known), in words; the
    engine refuses it at start and the Model page before Train."""
    if precision == "fp16" and device_type != "cuda":
        return 'train.precision = "fp16" needs a CUDA GPU; use fp32 or bf16 on CPU'
    if precision == "fp8" and device_type not in ("cuda", "cpu"):
        return f'train.precision = "fp8" runs on a CUDA GPU (or, emulated, on the CPU), not {device_type}'
    if precision == "fp8" and device_type == "cuda" and capability is not None and capability < FP8_MIN_CAPABILITY:
        return (f'train.precision = "fp8" needs fp8 tensor cores (an RTX 40xx, L40, H100 or newer); '
                f'{gpu_name or "this GPU"} has none: use "bf16"')
    return None


def _validate_task(cfg: RunConfig, resuming: bool, source_check) -> list[str]:
    p: list[str] = []
    m, k, f = cfg.model, cfg.task, cfg.finetune
    if m.prenorm and cfg.arch != "bert":
        why = "this gpt model is already pre-norm" if cfg.arch == "gpt" else "T5 has its own layout"
        p.append(f'model.prenorm is for encoders (arch "bert"); {why}')
    if m.objective == "masked" and m.arch == "gpt":
        p.append('model.objective = "masked" needs a bidirectional encoder: set model.arch = "bert" or "auto"')
    if m.objective in ("causal", "instruct", "classify", "tag") and m.arch == "t5":
        p.append(f'model.objective = "{m.objective}" needs a decoder or an encoder alone: model.arch = "t5" is '
                 f'the encoder-decoder of the seq2seq objective; set it to "auto"')
    if m.objective in ("causal", "instruct") and m.arch == "bert":
        p.append(f'model.objective = "{m.objective}" needs a decoder: set model.arch = "gpt" or "auto"')
    if m.objective == "masked" and m.arch == "t5":
        p.append('model.objective = "masked" needs a bidirectional encoder: set model.arch = "bert" or "auto"')
    if m.objective == "seq2seq" and m.arch in ("gpt", "bert"):
        p.append('model.objective = "seq2seq" needs an encoder-decoder: set model.arch = "t5" or "auto"')
    if m.n_encoder_layer < 0 or m.target_block_size < 0:
        p.append("model.n_encoder_layer and model.target_block_size must be >= 0 (0 = as the decoder, as the source)")
    if not 0.0 <= k.label_smoothing < 1.0:
        p.append(f"task.label_smoothing must be in [0, 1), got {k.label_smoothing}")
    if k.metric_samples < 0:
        p.append("task.metric_samples must be >= 0 (0 = loss only)")
    d = cfg.data
    if not 0.0 <= d.test_fraction < 0.5:
        p.append(f"data.test_fraction must be in [0, 0.5), got {d.test_fraction}")
    elif d.val_fraction + d.test_fraction >= 0.9:
        p.append("data.val_fraction + data.test_fraction must leave at least 10% of the data to train on")
    if m.objective in PAIR_OBJECTIVES and (not d.source_column or not d.target_column):
        p.append("data.source_column and data.target_column name the pair's two columns: neither may be empty")
    if not 0.0 < k.mask_prob < 1.0:
        p.append(f"task.mask_prob must be between 0 and 1, got {k.mask_prob}")
    if m.objective == "classify" and not k.label_column:
        p.append("task.label_column is empty: name the column holding each row's label")
    if len(set(k.labels)) != len(k.labels):
        p.append("task.labels lists a label twice")
    if m.objective == "tag" and importlib.util.find_spec("seqeval") is None:
        p.append('model.objective = "tag" scores entities with the seqeval package: ./dev install tag (or pip '
                 'install seqeval)')
    if m.objective == "tag" and m.block_size < 3:
        p.append("model.objective = \"tag\" needs model.block_size of at least 3 (an encoder's [CLS] and [SEP] "
                 "around a word)")
    if m.objective == "span" and m.arch in ("gpt", "t5"):
        p.append('model.objective = "span" finds answers with a bidirectional encoder: set model.arch = "bert" or '
                 '"auto"')
    if k.doc_stride < 0:
        p.append("task.doc_stride must be >= 0 (0 = a quarter of model.block_size)")
    elif m.objective == "span" and (stride := k.doc_stride or m.block_size // 4) > m.block_size - 5:
        p.append(f"model.objective = \"span\" needs model.block_size well above task.doc_stride: a window holds "
                 f"[CLS], the question, [SEP], more context than the overlap of {stride} tokens, and [SEP]; "
                 f"raise model.block_size or lower task.doc_stride")
    if m.objective == "masked" and k.nsp and m.block_size < 8:
        p.append("task.nsp needs model.block_size of at least 8 to hold two sentences")
    _choice(p, "finetune.method", f.method, FINETUNE_METHODS)
    if f.method == "lora":
        if not f.source:
            p.append('finetune.method = "lora" adapts a trained model: set finetune.source to a run or model folder')
        if f.lora_rank < 1:
            p.append(f"finetune.lora_rank must be at least 1, got {f.lora_rank}")
        if f.lora_alpha <= 0:
            p.append("finetune.lora_alpha must be positive")
        if not 0.0 <= f.lora_dropout < 1.0:
            p.append("finetune.lora_dropout must be in [0, 1)")
        if not f.lora_targets:
            p.append(f"finetune.lora_targets is empty: choose from {', '.join(LORA_TARGETS)}")
        for t in f.lora_targets:
            _choice(p, "finetune.lora_targets", t, LORA_TARGETS)
    if f.source and not Path(f.source).expanduser().exists():
        if not resuming:
            p.append(f"finetune.source not found: {f.source}")
    elif f.source and source_check and (problem := source_check(f.source, m.objective, m.block_size)):
        p.append(f"finetune.source: {problem}")
    return p


def _choice(problems: list[str], name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        problems.append(f"{name} = {value!r} is not one of {', '.join(choices)}{suggest(value, choices)}")
