"""What the features and the concept probes read: a run's own validation tokens, windows spread over them, its
checkpoints one by one, and the residual stream of its layers on those windows through the one capture
(engine/model/hooks.py's `run_with_cache`).

The layers are named by their hook points: `hook_embed` (the embeddings entering the first block, shown as
"embed") and `h.{i}.hook_resid_post` (the residual stream after block i, shown as i).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from engine.config import schema as config_mod
from engine.core.errors import UserError
from engine.data.encode import prepare_corpus
from engine.data.tokenizer import Tokenizer
from engine.model import checkpoint as ckpt
from engine.model.hooks import n_layers, run_with_cache
from engine.model.load import model_from_checkpoint
from engine.run.folder import RUN_FILE, TOKENIZER_FILE, require_run_folder

READS = ("causal", "masked")
"""The objectives whose runs hold a token stream with a validation split to read."""
POSITIONS = 8192
"""How many validation positions are read by default: windows of the model's context, side by side."""


def resid_name(layer: int) -> str:
    return f"h.{layer}.hook_resid_post"


def layer_names(model) -> list[str]:
    """Every layer's hook point, the embeddings first."""
    return ["hook_embed"] + [resid_name(i) for i in range(n_layers(model))]


def layer_label(name: str) -> str:
    return "embed" if name == "hook_embed" else name.split(".")[1]


def check_layer(layer: int, n_layer: int) -> None:
    if not 0 <= layer < n_layer:
        raise UserError(f"--layer {layer} does not exist: this model has {n_layer} layer{'s' if n_layer > 1 else ''}"
                        f", 0 to {n_layer - 1}")


def validation_tokens(run_dir: Path) -> tuple[Tokenizer, np.ndarray, int]:
    """(the run's tokenizer, its validation tokens, its context length), read as its training read them."""
    run_dir = require_run_folder(run_dir)
    if not (run_dir / RUN_FILE).is_file():
        raise UserError(f"{run_dir} has no {RUN_FILE}: the validation tokens are read with the run's own config")
    cfg = config_mod.load(run_dir / RUN_FILE)
    if cfg.model.objective not in READS:
        raise UserError(f"this reads a language model's validation tokens (a causal or masked run); "
                        f"{run_dir.name} is a {cfg.model.objective} run")
    own = Tokenizer.load(run_dir / TOKENIZER_FILE)
    corpus = prepare_corpus(cfg, tokenizer=own if cfg.finetune.source else None)  # as training encoded it
    if corpus.tokenizer.to_str() != own.to_str():  # the corpus changed since: encode it with the run's own
        corpus = prepare_corpus(cfg, tokenizer=own)
    return own, corpus.arrays()[1], cfg.model.block_size


def windows(tokens: np.ndarray, context: int, positions: int = POSITIONS) -> np.ndarray:
    """(n, T) windows of the model's context, side by side and spread evenly over `tokens`, about `positions`
    tokens in all (fewer when the split is short); none overlaps, so a split by window leaks no position."""
    T = min(context, len(tokens))
    if T < 2:
        raise UserError(f"the validation split has {len(tokens)} token{'s' * (len(tokens) != 1)}: too few to read")
    n = max(1, min(positions // T, len(tokens) // T))
    starts = (np.arange(n) * (len(tokens) // n)).astype(np.int64)
    return np.stack([np.asarray(tokens[s: s + T], dtype=np.int64) for s in starts])


def residuals(model, rows: np.ndarray, names: list[str], *, batch: int = 64) -> dict[str, torch.Tensor]:
    """{hook name: (n, T, C) float32} the model's activations at `names` on the windows `rows`."""
    device = next(model.parameters()).device
    out: dict[str, list[torch.Tensor]] = {n: [] for n in names}
    for first in range(0, len(rows), batch):
        idx = torch.as_tensor(rows[first: first + batch], device=device)
        _, cache = run_with_cache(model, idx, names=names)
        for n in names:
            out[n].append(cache[n].float().cpu())
    return {n: torch.cat(parts) for n, parts in out.items()}


def chosen_checkpoints(run_dir: Path, names: str | None) -> list[ckpt.CheckpointInfo]:
    """Every checkpoint of the run oldest first, or those named (a comma-separated list)."""
    found = ckpt.list_checkpoints(run_dir)
    if not found:
        raise UserError(f"{run_dir} has no checkpoint yet: train it first (checkpoints come at each evaluation)")
    if not names:
        return found
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    by_name = {c.name: c for c in found}
    for name in wanted:
        if name not in by_name:
            raise UserError(f"no checkpoint {name!r} in {run_dir}; there are: {', '.join(by_name)}")
    return sorted((by_name[n] for n in dict.fromkeys(wanted)), key=lambda c: c.step)


def each_model(run_dir: Path, found: list[ckpt.CheckpointInfo]) -> Iterator[tuple[ckpt.CheckpointInfo, object]]:
    """(checkpoint, its model on the CPU) oldest first; a damaged checkpoint is passed over with a warning."""
    for c in found:
        try:
            model, _ = model_from_checkpoint(c.path, run_dir)
        except ckpt.BadCheckpoint as e:
            print(f"warning: {e}: passed over", file=sys.stderr)
            continue
        yield c, model
