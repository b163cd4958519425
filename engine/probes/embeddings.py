"""The token embeddings as a 2-D map (PCA through NumPy) and each token's nearest neighbours."""

from __future__ import annotations

import numpy as np

MAP_TOKENS = 2000
"""At most this many tokens (the first ordinary ids) are mapped and recorded at each evaluation."""


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """(N, 2): the vectors' coordinates along their two main directions."""
    x = np.asarray(vectors, dtype=np.float64)
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return (x @ vt[:2].T).astype(np.float32)


def align(points: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
    """Rotate or reflect `points` onto `previous` (orthogonal Procrustes), so that successive maps of
    one run do not flip or spin between evaluations."""
    if previous is None or previous.shape != points.shape:
        return points
    u, _, vt = np.linalg.svd(points.T.astype(np.float64) @ previous.astype(np.float64))
    return (points @ (u @ vt)).astype(np.float32)


def nearest(vectors: np.ndarray, index: int, k: int = 8) -> list[tuple[int, float]]:
    """The k rows most like row `index` by cosine similarity: (row, similarity), most similar first."""
    x = np.asarray(vectors, dtype=np.float64)
    x = x / np.clip(np.linalg.norm(x, axis=1, keepdims=True), 1e-12, None)
    sims = x @ x[index]
    order = [int(i) for i in np.argsort(-sims) if i != index][:k]
    return [(i, float(sims[i])) for i in order]
