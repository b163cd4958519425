"""What each feature of an SAE is, read off the positions it fires on: its density (the share of positions
where it is on), its top-activating contexts (a window of tokens with the feature's activation on each, for
the studio to shade) and a short label from the tokens it fires on most."""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from engine.probes.sae import TopKSAE

CONTEXTS = 5
"""Top-activating contexts kept per feature."""
LABEL_FROM = 20
"""The label counts the tokens at a feature's this many strongest positions."""
BEFORE, AFTER = 12, 3
"""A context's tokens before and after the position the feature fires on."""


@torch.no_grad()
def top_positions(sae: TopKSAE, acts: torch.Tensor, m: int, *, batch: int = 4096) -> tuple[torch.Tensor, ...]:
    """(values, positions) (m, d_sae): each feature's m strongest activations over `acts` (N, d_in) and where,
    merged batch by batch so the whole (N, d_sae) matrix is never held; and (d_sae,) how often each is on."""
    best_v = torch.full((0, sae.d_sae), -1.0)
    best_i = torch.zeros((0, sae.d_sae), dtype=torch.long)
    on = torch.zeros(sae.d_sae)
    for first in range(0, len(acts), batch):
        f = sae.encode(acts[first: first + batch])
        on += (f > 0).sum(dim=0)
        v = torch.cat([best_v, f])
        i = torch.cat([best_i, torch.arange(first, first + len(f))[:, None].expand_as(f)])
        keep = v.topk(min(m, len(v)), dim=0).indices
        best_v, best_i = v.gather(0, keep), i.gather(0, keep)
    return best_v, best_i, on


def short_label(tokens: list[str]) -> str:
    """The (up to) three tokens seen most often, as text: `'e' / 'a' / ' '`."""
    return " / ".join(repr(t) for t, _ in Counter(tokens).most_common(3))


@torch.no_grad()
def feature_cards(sae: TopKSAE, acts: torch.Tensor, rows: np.ndarray, strings: list[str]) -> list[dict]:
    """One card a feature: {id, density, max, label, contexts: [{tokens, acts, at}]}; a dead one (never on in
    the sample) has density 0 and neither label nor contexts. `acts` (n * T, d_in) are the positions of the
    windows `rows` (n, T) in order; `strings` is each token id's text."""
    n, T = rows.shape
    values, where, on = top_positions(sae, acts, max(CONTEXTS, LABEL_FROM))
    cards = []
    for j in range(sae.d_sae):
        card = {"id": j, "density": round(float(on[j]) / max(len(acts), 1), 6)}
        live = [int(p) for v, p in zip(values[:, j].tolist(), where[:, j].tolist()) if v > 0]
        if live:
            card["max"] = round(float(values[0, j]), 4)
            card["label"] = short_label([strings[rows[p // T, p % T]] for p in live[:LABEL_FROM]])
            card["contexts"] = [context(sae, acts, rows, strings, p, j) for p in live[:CONTEXTS]]
        cards.append(card)
    return cards


def context(sae: TopKSAE, acts: torch.Tensor, rows: np.ndarray, strings: list[str], position: int,
            feature: int) -> dict:
    """The tokens around `position` (flat index into the windows) and the feature's activation on each."""
    T = rows.shape[1]
    row, t = divmod(position, T)
    lo, hi = max(0, t - BEFORE), min(T, t + AFTER + 1)
    f = sae.encode(acts[row * T + lo: row * T + hi])[:, feature]
    return {"tokens": [strings[i] for i in rows[row, lo:hi]], "acts": [round(float(a), 4) for a in f],
            "at": t - lo}
