"""Modular addition, the task a small Transformer groks (Power et al., 2022; Nanda et al., 2023).

Every pair of the table a + b mod p once, as a classification CSV: the text `a+b=` and its label c. The
engine's labelled split (engine/data/labelled.py: rows shuffled with train.seed, the last data.val_fraction
held out) decides which pairs are trained on; the rest of the table is what the model must generalise to.
The numbers are whole tokens under the recipe's BPE tokenizer, so each has one embedding row to take the
Fourier view of (engine/probes/fourier.py).
"""

from __future__ import annotations

import re

P = 97
"""The modulus of the built-in demo and its recipe, Nanda et al.'s 113's smaller prime neighbour."""

_QUESTION = re.compile(r"^\s*(\d+)\+(\d+)=\s*$")


def question(a: int, b: int) -> str:
    """The text the model reads for the pair (a, b)."""
    return f"{a}+{b}="


def parse_question(text: str) -> tuple[int, int] | None:
    """(a, b) of a text written by `question`, or None for any other text."""
    m = _QUESTION.match(text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def modular_table(p: int = P) -> list[tuple[int, int, int]]:
    """Every (a, b, (a + b) mod p), a and b in 0..p-1, each pair once."""
    if p < 2:
        raise ValueError(f"the modulus must be at least 2, not {p}")
    return [(a, b, (a + b) % p) for a in range(p) for b in range(p)]


def modular_csv(p: int = P) -> str:
    """The table as a CSV of text and label, one pair a row."""
    return "text,label\n" + "".join(f"{question(a, b)},{c}\n" for a, b, c in modular_table(p))
