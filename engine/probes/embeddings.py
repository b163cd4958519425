"""The token embeddings as a 2-D map (PCA) and each token's nearest neighbours.

The linear algebra runs in torch, in its own threads: NumPy's OpenBLAS keeps a thread pool of its own
that spins on the cores for a while after each call, and in a training process that halved the speed
of whatever came next (a sample after each evaluation took 2x as long)."""

from __future__ import annotations

import numpy as np
import torch

MAP_TOKENS = 2000
"""At most this many tokens (the first ordinary ids) are mapped and recorded at each evaluation."""


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """(N, 2): the vectors' coordinates along their two main directions."""
    x = torch.as_tensor(np.asarray(vectors), dtype=torch.float64)
    x = x - x.mean(dim=0)
    _, _, vt = torch.linalg.svd(x, full_matrices=False)
    return (x @ vt[:2].T).float().numpy()


def align(points: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
    """Rotate or reflect `points` onto `previous` (orthogonal Procrustes), so that successive maps of
    one run do not flip or spin between evaluations."""
    if previous is None or previous.shape != points.shape:
        return points
    p, q = (torch.as_tensor(a, dtype=torch.float64) for a in (points, previous))
    u, _, vt = torch.linalg.svd(p.T @ q)
    return (p @ (u @ vt)).float().numpy()


def nearest(vectors: np.ndarray, index: int, k: int = 8) -> list[tuple[int, float]]:
    """The k rows most like row `index` by cosine similarity: (row, similarity), most similar first."""
    x = torch.as_tensor(np.asarray(vectors), dtype=torch.float64)
    x = x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)
    sims = (x @ x[index]).numpy()
    order = [int(i) for i in np.argsort(-sims) if i != index][:k]
    return [(i, float(sims[i])) for i in order]
