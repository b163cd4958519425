"""Entity-level precision, recall and F1, per type and overall, as `seqeval` counts them (CoNLL's conlleval).

An entity is a maximal run of words whose tags begin with B-TYPE and continue with I-TYPE (an I-TYPE after
another type or O begins one too, as seqeval's default mode and transformers' pipeline group words). A
predicted entity is correct when its type, first and last word all match a true one. The counts per type
(true, predicted, correct) are sums, so they add up over batches and processes before the scores are taken.
"""

from __future__ import annotations

import numpy as np

from engine.core.errors import UserError

INSTALL = "tagging's entity metrics need the seqeval package: ./dev install tag (or pip install seqeval)"


def _get_entities():
    try:
        from seqeval.metrics.sequence_labeling import get_entities  # optional: the tag extra
    except ImportError:
        raise UserError(INSTALL) from None
    return get_entities


def entities(tags: list[str]) -> list[tuple[str, int, int]]:
    """(type, first word, last word) of each entity in one sentence's tags, in order."""
    return [(kind, int(a), int(b)) for kind, a, b in _get_entities()(list(tags))]


def entity_counts(true: list[list[str]], predicted: list[list[str]], types: list[str]) -> np.ndarray:
    """(len(types), 3) counts of true, predicted and correct entities, sentence by sentence."""
    index = {t: i for i, t in enumerate(types)}
    counts = np.zeros((len(types), 3), dtype=np.int64)
    for t_tags, p_tags in zip(true, predicted):
        t_set, p_set = set(entities(t_tags)), set(entities(p_tags))
        for column, found in enumerate((t_set, p_set, t_set & p_set)):
            for kind, _, _ in found:
                counts[index[kind], column] += 1
    return counts


def _prf(true: float, predicted: float, correct: float) -> tuple[float, float, float]:
    precision = correct / predicted if predicted else 0.0
    recall = correct / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def entity_scores(counts: np.ndarray, types: list[str]) -> dict:
    """Overall (micro-averaged: every entity counts once) precision, recall and F1, and each type's with its
    support (true entities); a score with nothing to divide by is 0, as seqeval's zero_division default."""
    counts = np.asarray(counts, dtype=np.float64).reshape(len(types), 3)
    p, r, f = _prf(*counts.sum(0))
    per_type = {}
    for kind, (n_true, n_pred, n_correct) in zip(types, counts):
        tp, tr, tf = _prf(n_true, n_pred, n_correct)
        per_type[kind] = {"precision": tp, "recall": tr, "f1": tf, "support": int(n_true)}
    return {"entity_precision": p, "entity_recall": r, "entity_f1": f, "entity_types": per_type}
