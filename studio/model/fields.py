"""The form's description of the run config: which widget each field gets, its group and its help text
(taken from the docstrings under the dataclass fields, so the form and the config never disagree)."""

from __future__ import annotations

import ast
import inspect
from functools import cache

from engine.config import schema as C
from engine.config.shape import SHAPE_KEYS

CHOICES = {
    ("tokenizer", "kind"): C.TOKENIZER_KINDS, ("model", "position"): C.POSITIONS, ("model", "norm"): C.NORMS,
    ("model", "mlp"): C.MLPS, ("model", "objective"): C.OBJECTIVES, ("train", "optimizer"): C.OPTIMIZERS,
    ("train", "schedule"): C.SCHEDULES, ("train", "precision"): C.PRECISIONS,
    ("train", "health_policy"): C.HEALTH_POLICIES, ("data", "normalize"): ("", "NFC", "NFKC"),
    ("model", "arch"): C.ARCHS, ("train", "compile"): C.COMPILE_MODES,
    ("train", "parallel"): C.PARALLELS, ("finetune", "method"): C.FINETUNE_METHODS,
    ("finetune", "source"): ("",), ("data", "documents"): C.DOCUMENT_KINDS, ("track", "wandb_mode"): C.WANDB_MODES,
}
EDITABLE = {("train", "device"), ("finetune", "source")}
ITEM_HINTS = {("train", "optimizer"): C.OPTIMIZER_HINTS, ("train", "precision"): C.PRECISION_HINTS}
"""Choices whose every item says when it helps (the item's tooltip, and the field's for the chosen one)."""
"""Choices the user may also type into (a device name, a folder)."""

MASKED_ONLY = [("task", k) for k in ("mask_prob", "whole_word_mask", "nsp")]
CLASSIFY_ONLY = [("task", "label_column")]
LABELLED = [("task", "labels")]
"""Shown for the objectives that learn named labels: a classifier's labels, a tagger's tags (named entities)."""
PAIRS_ONLY = [("data", k) for k in ("source_column", "target_column")] + [("task", "metric_samples")]
"""Shown for the objectives that read source -> target pairs (seq2seq, instruct)."""
SPAN_ONLY = [("task", "doc_stride")]
"""Shown for a question answerer (span): how much the windows of a long context share."""
SEQ2SEQ_ONLY = [("model", "n_encoder_layer"), ("model", "target_block_size"), ("task", "label_smoothing")]
DECODER_LAYOUT = [("model", k) for k in ("position", "norm", "mlp", "bias")]
ENCODER_ONLY = [("model", "prenorm")]
"""Shown for an encoder (arch bert) alone: decoders are always pre-norm, T5 has its own layout."""
"""What the encoder-decoder does not take from the form: it has T5's own layout."""
STEP_SCHEDULE = [("train", "warmup_steps"), ("train", "decay_steps")]
"""Hidden under a time budget: its schedule warms up and decays by the share of the time spent, not by steps."""
LORA_ONLY = [("finetune", k) for k in ("lora_rank", "lora_alpha", "lora_dropout", "lora_targets")]
SHAPE = [("model", k) for k in (*SHAPE_KEYS, "arch")] + [
    ("tokenizer", k) for k in ("kind", "vocab_size", "path")]
"""Fields a fine-tune takes from its source model, shown but not editable then."""

GROUPS = {
    "Time budget": [("train", "time_budget")],
    "Architecture": [("model", k) for k in ("n_layer", "n_encoder_layer", "n_head", "n_embd", "block_size",
                                             "target_block_size", "dropout", "vocab_size", "position", "norm", "mlp",
                                             "bias", "tie_weights", "prenorm")],
    "Objective": [("model", "objective"), ("model", "arch"), *MASKED_ONLY, *CLASSIFY_ONLY, *LABELLED,
                  ("task", "label_smoothing"), ("task", "metric_samples"), *SPAN_ONLY],
    "Fine-tuning": [("finetune", k) for k in ("source", "method", "lora_rank", "lora_alpha", "lora_dropout",
                                              "lora_targets")],
    "Optimization": [("train", k) for k in ("optimizer", "lr", "min_lr", "schedule", "warmup_steps", "max_steps",
                                            "decay_steps", "batch_size", "auto_batch_size", "grad_accum",
                                            "weight_decay", "beta1", "beta2", "momentum", "grad_clip", "seed")],
    "Evaluation and checkpoints": [("train", k) for k in (
        "eval_interval", "eval_batches", "log_interval", "checkpoint_interval", "keep_last", "keep_best",
        "early_stopping", "target_loss", "sample_interval", "sample_prompts", "sample_tokens", "probe_text")],
    "Training health": [("train", k) for k in ("health_policy", "max_bad_steps", "spike_factor")],
    "Hardware": [("train", k) for k in ("device", "processes", "parallel", "precision", "compile", "threads")],
    "Trackers": [("train", "tensorboard"), *[("track", k) for k in ("mlflow", "mlflow_uri", "experiment", "wandb",
                                                                     "wandb_mode")]],
    "Tokenizer": [("tokenizer", k) for k in ("kind", "vocab_size", "path")],
    "Corpus": [("data", k) for k in ("path", "text_column", "source_column", "target_column", "documents",
                                     "val_fraction", "test_fraction", "encoding", "normalize", "collapse_whitespace",
                                     "dedupe", "min_chars")],
}

ZERO_MEANS = {("model", "vocab_size"): "from the tokenizer", ("train", "log_interval"): "auto (CPU every step)",
              ("train", "checkpoint_interval"): "at every evaluation", ("train", "early_stopping"): "never",
              ("train", "target_loss"): "never",
              ("train", "threads"): "all cores", ("data", "min_chars"): "keep all",
              ("train", "decay_steps"): "over all the steps", ("model", "n_encoder_layer"): "as the decoder",
              ("model", "target_block_size"): "as the context", ("task", "metric_samples"): "loss only",
              ("task", "doc_stride"): "a quarter of the context"}
"""What 0 means for a number field, shown in the field instead of a bare 0."""

GROUP_NOTES = {"Time budget": (
    "One dial: how long the run may take, its evaluations included (90s, 10m, 1h; empty: no budget). It "
    "chooses the model's shape, the batch, the learning rate and schedule and the evaluations for this corpus "
    "and machine, and the run ends on time. Its fields say (by the budget); change one to set it yourself.")}
"""A sentence shown at the top of a group: what its fields do together."""
DURATIONS = {("train", "time_budget")}
"""Fields typed as a duration ("10m"), shown empty when 0."""

# wide numeric ranges: the form accepts what the engine validates, and shows the engine's messages
INT_RANGE = (0, 10_000_000)
SCIENTIFIC = {("train", "lr"), ("train", "min_lr"), ("train", "weight_decay")}


@cache
def field_docs(cls) -> dict[str, str]:
    """Docstrings written under dataclass fields (ast of the class's source and of the classes it extends)."""
    docs = {}
    for klass in reversed(cls.__mro__[:-1]):  # a base's fields first, so a subclass's own words win
        body = ast.parse(inspect.getsource(klass)).body[0].body
        for node, nxt in zip(body, body[1:]):
            if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
                docs[node.target.id] = " ".join(str(nxt.value.value).split())
    return docs


SECTION_LABELS = {("tokenizer", "vocab_size"): "Vocabulary size", ("tokenizer", "kind"): "Tokenizer kind"}
"""Labels of fields whose key another section shares ("Vocab size" is the model's)."""


def label(key: str, section: str = "") -> str:
    if (section, key) in SECTION_LABELS:
        return SECTION_LABELS[section, key]
    special = {"n_layer": "Layers", "n_head": "Heads", "n_embd": "Width (n_embd)", "block_size": "Context length",
               "lr": "Learning rate", "min_lr": "Final learning rate", "mlp": "MLP", "grad_clip": "Gradient clip",
               "grad_accum": "Gradient accumulation", "val_fraction": "Validation fraction",
               "arch": "Architecture", "mask_prob": "Mask probability", "nsp": "Next-sentence prediction",
               "source": "Start from", "method": "Fine-tuning method", "lora_rank": "LoRA rank",
               "lora_alpha": "LoRA alpha", "lora_dropout": "LoRA dropout", "lora_targets": "LoRA projections",
               "labels": "Labels (| separated)", "n_encoder_layer": "Encoder layers",
               "target_block_size": "Target length", "test_fraction": "Test fraction",
               "metric_samples": "Scored samples", "doc_stride": "Window overlap (doc stride)"}
    return special.get(key, key.replace("_", " ").capitalize())
