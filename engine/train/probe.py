"""What the trainer records besides losses: the probe text's attention maps, TensorBoard scalars."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from engine.run.tomlio import write_atomic


def probe_ids(tokenizer, probe_text: str, val_tokens: np.ndarray, block_size: int) -> list[int]:
    """The probe text's tokens, or else the first 64 validation tokens."""
    if probe_text:
        return tokenizer.encode(probe_text)[:block_size]
    return [int(t) for t in val_tokens[: min(64, block_size)]]


@torch.no_grad()
def record_attention(model, tokenizer, ids: list[int], run_dir: Path | None, step: int) -> Path | None:
    """Save attention/step-NNNNNN.npy, (layers, heads, T, T) float16, and the tokens once; with no
    run_dir only compute (the other ranks of a sharded model join the forward pass)."""
    if not ids:
        return None
    device = next(model.parameters()).device
    model.eval()
    _, _, maps = model(torch.tensor([ids], device=device), need_weights=True)
    model.train()
    if run_dir is None:
        return None
    arr = torch.stack([m[0] for m in maps]).float().cpu().numpy().astype(np.float16)
    folder = Path(run_dir) / "attention"
    folder.mkdir(exist_ok=True)
    if not (folder / "tokens.json").exists():
        write_atomic(folder / "tokens.json", json.dumps({"ids": ids, "tokens": tokenizer.token_strings(ids)}))
    path = folder / f"step-{step:06d}.npy"
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        np.save(f, arr)
    os.replace(tmp, path)
    return path
