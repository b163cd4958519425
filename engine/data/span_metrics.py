"""Extractive question answering's scores as SQuAD defines them (its official evaluate-v2.0.py).

An answer is normalised before it is compared: lower case, punctuation dropped, the articles a, an and the
dropped, whitespace collapsed. Exact match is 1 when the normalised prediction equals a normalised gold answer;
F1 is the harmonic mean of precision and recall over the normalised words both share (counted with repeats).
Each prediction takes its best score over the gold answers; an unanswerable question's only gold answer is the
empty string, so saying nothing scores 1 there and any answer 0 (and an empty prediction scores 0 where there
is an answer).
"""

from __future__ import annotations

import re
import string
from collections import Counter

ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces: SQuAD's normalize_answer."""
    text = "".join(ch for ch in text.lower() if ch not in PUNCTUATION)
    return " ".join(ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    """F1 over the normalised words; two empty answers agree fully, one empty one not at all."""
    predicted, true = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not predicted or not true:
        return float(predicted == true)
    shared = sum((Counter(predicted) & Counter(true)).values())
    if not shared:
        return 0.0
    precision, recall = shared / len(predicted), shared / len(true)
    return 2 * precision * recall / (precision + recall)


def best_scores(prediction: str, golds: list[str]) -> tuple[float, float]:
    """(exact match, F1) of one prediction, each its best over the gold answers; golds that normalise to nothing
    are left out, and none left means the question is unanswerable (the gold answer is "")."""
    golds = [g for g in golds if normalize_answer(g)] or [""]
    return max(exact_match(prediction, g) for g in golds), max(f1_score(prediction, g) for g in golds)
