"""Head ablation: zero chosen heads' outputs (at `h.{i}.attn.hook_z`) and see what the text's loss and
each token's probability do without them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from engine.core.errors import UserError
from engine.model.hooks import run_with_cache
from engine.probes.support import require


@dataclass
class Ablation:
    heads: list[tuple[int, int]]
    loss: float
    """The text's mean next-token loss with the heads zeroed."""
    base_loss: float
    probs: np.ndarray
    """(T - 1,) each next token's probability with the heads zeroed."""
    base_probs: np.ndarray


def _zero(heads: list[int]):
    def fn(z):
        z = z.clone()
        z[:, heads] = 0
        return z
    return fn


def token_probs(model, idx: torch.Tensor, heads: list[tuple[int, int]] = ()) -> np.ndarray:
    """Each next token's probability on idx (1, T) with `heads` [(layer, head)] zeroed."""
    by_layer: dict[int, list[int]] = {}
    for layer, head in heads:
        by_layer.setdefault(layer, []).append(head)
    edit = {f"h.{layer}.attn.hook_z": _zero(hs) for layer, hs in by_layer.items()}
    logits = run_with_cache(model, idx, edit=edit)[0][0]
    p = F.softmax(logits[0, :-1].float(), dim=-1)
    return p.gather(-1, idx[0, 1:, None])[:, 0].cpu().numpy()


def _ids(model, tokenizer, text: str) -> torch.Tensor:
    require(model, "ablation")
    ids = tokenizer.encode(text)[: model.config.block_size]
    if len(ids) < 2:
        raise UserError("ablation needs a text of at least two tokens")
    return torch.tensor([ids], device=next(model.parameters()).device)


def _check(model, heads) -> None:
    L, H = model.config.n_layer, model.config.n_head
    for layer, head in heads:
        if not (0 <= layer < L and 0 <= head < H):
            raise UserError(f"no head {layer}.{head}: this model has layers 0-{L - 1} and heads 0-{H - 1}")


def _loss(probs: np.ndarray) -> float:
    return float(-np.log(np.clip(probs, 1e-12, None)).mean())


def ablate(model, tokenizer, text: str, heads: list[tuple[int, int]]) -> Ablation:
    _check(model, heads)
    idx = _ids(model, tokenizer, text)
    base, probs = token_probs(model, idx), token_probs(model, idx, heads)
    return Ablation(list(heads), _loss(probs), _loss(base), probs, base)


def rank_heads(model, tokenizer, text: str) -> list[tuple[int, int, float]]:
    """Every head by how much zeroing it alone raises the text's loss, largest first: (layer, head, rise)."""
    idx = _ids(model, tokenizer, text)
    base = _loss(token_probs(model, idx))
    rows = [(layer, head, _loss(token_probs(model, idx, [(layer, head)])) - base)
            for layer in range(model.config.n_layer) for head in range(model.config.n_head)]
    return sorted(rows, key=lambda r: -r[2])
