"""What each attention head does, scored on synthetic probes built from the model's own vocabulary.

A probe row is a random token sequence repeated twice, [r, r] (Olsson et al., 2022). On it, each
score is the mean attention weight on the keys its definition names, so it lies in [0, 1]:

- previous:  query i attends to i-1 (first copy: no structure to exploit)
- duplicate: a second-copy token attends to its own earlier copy (i-L)
- induction: a second-copy token attends to the token after its earlier copy (i-L+1)
- sink:      attention to the first token (queries from position 2 on)
- local:     attention within the last `LOCAL_WINDOW` tokens, itself included (first copy)
- entropy:   attention entropy over the keys a query can see, divided by its maximum

`score_patterns` is NumPy on (layers, heads, B, T, T) weights, so hand-made patterns test it;
`head_scores` runs the model through its hook points.
"""

from __future__ import annotations

import numpy as np

from engine.probes.support import require

SCORES = ("induction", "previous", "duplicate", "sink", "local", "entropy")
ROLES = ("induction", "previous", "duplicate", "sink")  # scores that name a head when they dominate
LOCAL_WINDOW = 4
ROLE_AT = 0.4


def probe_tokens(ids: np.ndarray, block_size: int, *, rows: int = 8, seed: int = 0) -> np.ndarray:
    """(rows, 2L) int64: each row a random sequence of L tokens from `ids`, twice; L <= 32."""
    ids = np.asarray(ids, dtype=np.int64)
    half = max(2, min(32, block_size // 2))
    rng = np.random.default_rng(seed)
    distinct = len(ids) >= half  # no token repeats inside a copy, so "its earlier copy" is one position
    first = np.stack([rng.choice(ids, size=half, replace=not distinct) for _ in range(rows)])
    return np.concatenate([first, first], axis=1)


def score_patterns(maps: np.ndarray, causal: bool = True) -> dict[str, np.ndarray]:
    """Scores (layers, heads) of attention weights `maps` (layers, heads, B, 2L, 2L) on probe rows."""
    maps = np.asarray(maps, dtype=np.float64)
    T = maps.shape[-1]
    L = T // 2
    first, second = np.arange(1, L), np.arange(L, 2 * L)
    prev = maps[..., first, first - 1].mean(axis=(-2, -1))
    dup = maps[..., second, second - L].mean(axis=(-2, -1))
    ind = maps[..., second, second - L + 1].mean(axis=(-2, -1))
    sink = maps[..., 2:, 0].mean(axis=(-2, -1))
    q = np.arange(min(LOCAL_WINDOW, L - 1), L)
    keys = np.arange(T)
    window = (keys[None, :] <= q[:, None]) & (keys[None, :] > q[:, None] - LOCAL_WINDOW)
    local = (maps[..., q, :] * window).sum(-1).mean(axis=(-2, -1))
    rows = maps[..., first, :]
    ent = -(rows * np.log(np.clip(rows, 1e-12, None))).sum(-1)
    visible = first + 1 if causal else np.full(len(first), T)
    entropy = (ent / np.log(visible)).mean(axis=(-2, -1))
    out = {"induction": ind, "previous": prev, "duplicate": dup, "sink": sink, "local": local, "entropy": entropy}
    return {k: np.clip(v, 0.0, 1.0) for k, v in out.items()}


def head_roles(scores: dict) -> list[list[str]]:
    """Each head's role: the role score that is largest and at least ROLE_AT; else "broad" where its
    attention spreads evenly, "local" where most of it stays within the window, or ""."""
    first = np.asarray(scores["induction"])
    out = []
    for layer in range(first.shape[0]):
        row = []
        for head in range(first.shape[1]):
            values = {r: float(np.asarray(scores[r])[layer, head]) for r in ROLES if r in scores}
            best = max(values, key=values.get)
            if values[best] >= ROLE_AT:
                row.append(best)
            elif float(np.asarray(scores["entropy"])[layer, head]) >= 0.8:
                row.append("broad")
            elif float(np.asarray(scores["local"])[layer, head]) >= 0.6:
                row.append("local")
            else:
                row.append("")
        out.append(row)
    return out


def top_head(scores: dict, name: str = "induction") -> tuple[float, int, int]:
    """The largest `name` score and its (layer, head)."""
    arr = np.asarray(scores[name], dtype=float)
    layer, head = np.unravel_index(int(arr.argmax()), arr.shape)
    return float(arr[layer, head]), int(layer), int(head)


def head_scores(model, ids: np.ndarray, *, rows: int = 8, seed: int = 0) -> dict[str, list[list[float]]]:
    """Every layer's and head's scores for `model` on probe rows drawn from token ids `ids`, as
    nested lists rounded to 4 places (what the eval event carries)."""
    import torch  # here, not at the top: the scores' names and roles serve the studio, which runs without torch

    from engine.model.hooks import attention_patterns

    require(model, "heads")
    block = model.config.block_size
    tokens = probe_tokens(ids, block, rows=rows, seed=seed)
    device = next(model.parameters()).device
    _, maps = attention_patterns(model, torch.from_numpy(tokens).to(device))
    arr = torch.stack(maps).float().cpu().numpy()  # (layers, B, heads, T, T)
    scores = score_patterns(arr.transpose(0, 2, 1, 3, 4), causal=model.config.arch == "gpt")
    return {k: np.round(v, 4).tolist() for k, v in scores.items()}
