"""The Fourier view of modular addition and its progress measures (Nanda et al., 2023, "Progress measures for
grokking via mechanistic interpretability").

A model that has grokked a + b mod p computes with waves: each number n is embedded as cos(w n) and sin(w n)
for a few key frequencies w = 2 pi k / p, and the logit of c comes out as a sum of cos(w (a + b - c)). Here:

- the Fourier basis of Z_p, and an embedding's norm per frequency (numbers' rows projected on the basis);
- the key frequencies: the fewest that carry a given share of the embedding's (non-constant) norm;
- the progress measures, on the logits of the whole table (a, b, c):
  restricted loss: the logits kept only along cos/sin(w (a + b)) of the key frequencies, plus their mean,
  scored on the held-out pairs: low once the key frequencies alone solve the task;
  excluded loss: the logits with those directions removed, scored on the training pairs: it rises as the
  model comes to rely on them instead of its memorised table.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

KEY_SHARE = 0.9
"""The key frequencies carry at least this share of the embedding's non-constant squared Fourier norm."""


def fourier_basis(p: int) -> torch.Tensor:
    """(p, p) orthonormal rows over n = 0..p-1: the constant, then cos k and sin k for k = 1..(p-1)//2, and for
    an even p the alternating cos p/2 last."""
    n = torch.arange(p, dtype=torch.float64)
    rows = [torch.ones(p, dtype=torch.float64)]
    for k in range(1, p // 2 + 1):
        angle = 2 * math.pi * k * n / p
        rows.append(torch.cos(angle))
        if 2 * k != p:
            rows.append(torch.sin(angle))
    basis = torch.stack(rows)
    return basis / basis.norm(dim=1, keepdim=True)


def basis_frequencies(p: int) -> list[int]:
    """The frequency k of each row of fourier_basis(p)."""
    return [0] + [k for k in range(1, p // 2 + 1) for _ in range(1 if 2 * k == p else 2)]


def frequency_norms(embedding: torch.Tensor | np.ndarray) -> np.ndarray:
    """(p // 2 + 1,): the norm of the numbers' embeddings (p, d) along each frequency k (cos and sin together);
    [0] is the constant part every number shares."""
    w = embedding.detach().cpu() if torch.is_tensor(embedding) else torch.from_numpy(np.asarray(embedding))
    w = w.to(torch.float64)
    p = w.shape[0]
    squared = (fourier_basis(p) @ w).pow(2).sum(dim=1)  # (p,) one per basis row
    norms = torch.zeros(p // 2 + 1, dtype=torch.float64)
    norms.index_add_(0, torch.tensor(basis_frequencies(p)), squared)
    return norms.sqrt().numpy()


def key_frequencies(norms: np.ndarray, share: float = KEY_SHARE) -> list[int]:
    """The fewest frequencies (k >= 1) carrying `share` of the non-constant squared norm, largest first."""
    if not 0 < share <= 1:
        raise ValueError(f"the share must be in (0, 1], not {share}")
    squared = np.asarray(norms, dtype=np.float64)[1:] ** 2
    total = squared.sum()
    if total <= 0:
        return []
    order = sorted(range(len(squared)), key=lambda i: (-squared[i], i))
    kept, carried = [], 0.0
    for i in order:
        kept.append(i + 1)
        carried += squared[i]
        if carried >= share * total * (1 - 1e-12):
            break
    return kept


def key_share(norms: np.ndarray, keys: list[int]) -> float:
    """The share of the non-constant squared norm that the frequencies `keys` carry."""
    squared = np.asarray(norms, dtype=np.float64) ** 2
    total = squared[1:].sum()
    return float(squared[list(keys)].sum() / total) if total > 0 and keys else 0.0


def sum_directions(p: int, keys: list[int]) -> torch.Tensor:
    """(m, p, p): cos and sin of w_k (a + b) over the table for each key frequency, each of unit norm."""
    s = torch.arange(p, dtype=torch.float64)
    grid = s[:, None] + s[None, :]
    out = []
    for k in keys:
        angle = 2 * math.pi * k * grid / p
        for wave in (torch.cos(angle), torch.sin(angle)):
            if wave.norm() > 1e-9:  # sin of p/2 for an even p is zero everywhere
                out.append(wave / wave.norm())
    return torch.stack(out) if out else torch.zeros(0, p, p, dtype=torch.float64)


def key_component(logits: torch.Tensor, keys: list[int]) -> torch.Tensor:
    """The part of the table's logits (a, b, c) that lies along the key frequencies' directions in (a, b)."""
    directions = sum_directions(logits.shape[0], keys)
    coefficients = torch.einsum("mab,abc->mc", directions, logits)
    return torch.einsum("mab,mc->abc", directions, coefficients)


def answers(p: int) -> torch.Tensor:
    """(p, p): (a + b) mod p."""
    s = torch.arange(p)
    return (s[:, None] + s[None, :]) % p


def table_loss(logits: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean cross-entropy of the logits (a, b, c) on the pairs where `mask` (a, b) is true."""
    if not bool(mask.any()):
        return float("nan")
    p = logits.shape[0]
    return float(F.cross_entropy(logits[mask].reshape(-1, p), answers(p)[mask].reshape(-1)))


def table_accuracy(logits: torch.Tensor, mask: torch.Tensor) -> float:
    if not bool(mask.any()):
        return float("nan")
    return float((logits.argmax(-1) == answers(logits.shape[0]))[mask].double().mean())


def progress_measures(logits: torch.Tensor, keys: list[int], train: torch.Tensor, val: torch.Tensor) -> dict:
    """Loss and accuracy on the training and held-out pairs, and the restricted (held-out pairs) and excluded
    (training pairs) losses of the key frequencies `keys`, from the logits (a, b, c) of the whole table."""
    logits = logits.to(torch.float64)
    component = key_component(logits, keys)
    restricted = logits.mean(dim=(0, 1), keepdim=True) + component  # the mean: each answer's own bias
    return {"train_loss": table_loss(logits, train), "val_loss": table_loss(logits, val),
            "train_accuracy": table_accuracy(logits, train), "val_accuracy": table_accuracy(logits, val),
            "restricted_loss": table_loss(restricted, val), "excluded_loss": table_loss(logits - component, train)}
