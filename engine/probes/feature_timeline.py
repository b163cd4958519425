"""Features followed across checkpoints: born, continued, split, merged and died, matched by the cosine of
their decoder directions.

Between two checkpoints' SAEs, a live feature of the earlier one and a live feature of the later one are linked
when one is the other's closest (by decoder cosine) and their cosine is at least MATCH. Each group of linked
features (a connected part of that graph) is one event: one to one, the feature continues; one to several, it
split (each part's closest earlier feature is the whole); several to one, they merged; several to several, they
regrouped. A live feature of the earlier SAE with no link died; one of the later SAE with no link was born.
Features dead in an SAE (never on in its sample) take no part. Closest links only: two near-twin features of one
SAE that both carry on are two features continuing, not a regrouping. Each SAE continues from the one before
(engine/probes/features.py's FOLLOW_LR), so a link is a feature that kept (or shared out) its direction.
"""

from __future__ import annotations

import torch

MATCH = 0.7
"""Two features are the same direction, or one a part of the other, at a decoder cosine of at least this."""


def transitions(before: torch.Tensor, after: torch.Tensor, live_before: torch.Tensor, live_after: torch.Tensor,
                *, match: float = MATCH) -> dict:
    """The events between two SAEs, given their decoders (d_sae, d_in) and which features are live (bool).
    Returns {continued: [[i, j, cosine]], split: [{from, into}], merged: [{from, into}], regrouped: [{from,
    into}], born: [j], died: [i]}, i indexing `before`'s features and j `after`'s."""
    a = torch.nn.functional.normalize(before.detach().float(), dim=1)
    b = torch.nn.functional.normalize(after.detach().float(), dim=1)
    cos = (a @ b.T).masked_fill(~(live_before[:, None] & live_after[None, :]), -2.0)
    linked = torch.zeros_like(cos, dtype=torch.bool)
    if live_after.any():
        linked[torch.arange(len(a)), cos.argmax(dim=1)] = True  # each earlier feature's closest later one
    if live_before.any():
        linked[cos.argmax(dim=0), torch.arange(len(b))] = True  # and each later feature's closest earlier one
    linked &= cos >= match
    out: dict = {"continued": [], "split": [], "merged": [], "regrouped": [], "born": [], "died": []}
    seen_a, seen_b = set(), set()
    for start in range(len(a)):
        if start in seen_a or not live_before[start]:
            continue
        group_a, group_b = component(linked, start)
        seen_a |= group_a
        seen_b |= group_b
        ia, jb = sorted(group_a), sorted(group_b)
        if not jb:
            out["died"].append(start)
        elif len(ia) == 1 and len(jb) == 1:
            out["continued"].append([ia[0], jb[0], round(float(cos[ia[0], jb[0]]), 4)])
        else:
            kind = "split" if len(ia) == 1 else "merged" if len(jb) == 1 else "regrouped"
            out[kind].append({"from": ia, "into": jb})
    out["born"] = [j for j in range(len(b)) if live_after[j] and j not in seen_b]
    return out


def component(linked: torch.Tensor, start: int) -> tuple[set[int], set[int]]:
    """The features of each side connected to `before`'s feature `start` through links."""
    group_a, group_b, todo = {start}, set(), [("a", start)]
    while todo:
        side, i = todo.pop()
        others = linked[i] if side == "a" else linked[:, i]
        for j in torch.nonzero(others).flatten().tolist():
            group, other = (group_b, "b") if side == "a" else (group_a, "a")
            if j not in group:
                group.add(j)
                todo.append((other, j))
    return group_a, group_b


def counts(events: dict) -> dict:
    """How many features each event took: born and died count features, the others groups."""
    return {kind: len(items) for kind, items in events.items()}
