"""Exact match of a conversation's held-out assistant turns, split by where the turn comes: the first answer
of a conversation, and the later ones, which often need what earlier turns said ("and how much is it?").
A model that answers first turns but not later ones has not learnt to read back through the conversation."""

from __future__ import annotations

from engine.train.text_metrics import exact_match


def turn_metrics(answers: list[str], references: list[str], numbers: list[int]) -> dict[str, float]:
    """exact_match_first_turns and exact_match_later_turns (0-1), each left out when no turn of its kind was
    scored; `numbers` says which assistant turn of its conversation each is, from 1."""
    out = {}
    for key, wanted in (("exact_match_first_turns", lambda n: n == 1), ("exact_match_later_turns", lambda n: n > 1)):
        rows = [i for i, n in enumerate(numbers) if wanted(n)]
        if rows:
            out[key] = exact_match([answers[i] for i in rows], [references[i] for i in rows])
    return out
