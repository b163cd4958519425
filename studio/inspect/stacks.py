"""An encoder-decoder's three attention stacks as the Inspect page shows them: which tokens label each
map's rows and columns, and the maps the trainer recorded during training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

STACKS = {"cross": "Cross-attention (target × source)", "encoder": "Encoder self-attention",
          "decoder": "Decoder self-attention"}
START, END = "<start>", "<eos>"


def stack_axes(stack: str, source: list[str], target: list[str]) -> tuple[list[str], list[str]]:
    """(row labels, column labels). The decoder's row i writes target token i (the last writes the end), so
    the cross-attention row of a target word is where the model looks to write it; it reads the start
    token and the target so far."""
    writes = [*target, END]
    if stack == "encoder":
        return source, source
    if stack == "decoder":
        return writes, [START, *target]
    return writes, source


def recorded_steps(run_dir: Path | None) -> list[int]:
    """Steps at which the trainer recorded attention: attention/step-NNNNNN.npy (a decoder or an encoder)
    or .npz (an encoder-decoder's three stacks)."""
    if run_dir is None:
        return []
    found = {int(p.name[5:11]) for p in (run_dir / "attention").glob("step-*.np[yz]")}
    return sorted(found)


def load_recorded(run_dir: Path, step: int):
    """(maps, tokens) as the worker answers them: an array and a token list, or three stacks and the pair."""
    folder = run_dir / "attention"
    tokens = json.loads((folder / "tokens.json").read_text())
    npz = folder / f"step-{step:06d}.npz"
    if npz.is_file():
        with np.load(npz) as stacks:
            return {k: stacks[k].astype(np.float32) for k in stacks.files}, tokens
    return np.load(folder / f"step-{step:06d}.npy").astype(np.float32), tokens["tokens"]
