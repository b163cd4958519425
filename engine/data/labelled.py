"""Labelled examples for sequence classification: rows of (text, label) from a table corpus.

Rows are shuffled once with the run's seed before the validation and test splits (label-sorted files
are common; the test rows are the ones just before validation), encoded to at most the model's
context, and padded on the right. An encoder sees `[CLS] text [SEP]`; a decoder sees the text and is
read at its last token.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.config.schema import RunConfig
from engine.core.errors import UserError
from engine.data.corpus import load_documents
from engine.data.masked import special_ids


@dataclass
class LabelledSplit:
    idx: np.ndarray
    """(N, T) token ids, right-padded."""
    lengths: np.ndarray
    labels: np.ndarray
    """(N,) a label a row (classify), or (N, T) a tag a token (tag: each word's at its first piece, -100 elsewhere)."""

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        width = int(self.lengths[rows].max())
        labels = self.labels[rows] if self.labels.ndim == 1 else self.labels[rows, :width]
        return {"idx": self.idx[rows, :width].astype(np.int64), "lengths": self.lengths[rows].astype(np.int64),
                "targets": labels.astype(np.int64)}


@dataclass
class LabelledData:
    train: LabelledSplit
    val: LabelledSplit
    test: LabelledSplit
    label_names: list[str]
    texts: int
    truncated: int


def labelled_rows(cfg: RunConfig, cache_dir: str | Path) -> tuple[list[str], list[str]]:
    """The corpus's texts and their labels as strings, rows without either (or with a blank text) left out."""
    docs = load_documents(cfg.data, cache_dir, extra_columns=(cfg.task.label_column,))
    texts, raw = [], []
    for rows in docs.dataset.iter(batch_size=1000):
        for text, label in zip(rows["text"], rows[cfg.task.label_column]):
            if text is None or label is None or str(text).strip() == "":
                continue
            texts.append(str(text))
            raw.append(str(label))
    return texts, raw


def label_names(labels: list[str], raw: list[str]) -> list[str]:
    """The labels a classifier learns, in order: task.labels, or when empty every label found, sorted."""
    return list(labels) or sorted(set(raw), key=_natural)


def labels_found(cfg: RunConfig, cache_dir: str | Path) -> list[str]:
    """The labels a run of `cfg` learns, read as the trainer reads them (the estimate counts its head with them)."""
    return label_names(cfg.task.labels, labelled_rows(cfg, cache_dir)[1])


def load_labelled(cfg: RunConfig, tokenizer, cache_dir: str | Path, *, encoder: bool, pad_id: int,
                  cls_id: int | None = None, sep_id: int | None = None) -> LabelledData:
    d, k, T = cfg.data, cfg.task, cfg.model.block_size
    texts, raw = labelled_rows(cfg, cache_dir)
    if len(texts) < 4:
        raise UserError(f"{Path(d.path).name} has {len(texts)} labelled rows: a classifier needs a few per label")
    names = label_names(k.labels, raw)
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise UserError(f"labels {', '.join(unknown[:5])} are not in task.labels ({', '.join(names)}): add them or "
                        f"clear task.labels to take every label found")
    if len(names) < 2:
        raise UserError(f"every row has the label {names[0]!r}: a classifier needs at least two labels")
    index = {n: i for i, n in enumerate(names)}
    order = np.random.default_rng(cfg.train.seed).permutation(len(texts))
    body = T - 2 if encoder else T
    idx = np.full((len(texts), T), pad_id, dtype=np.int64)
    lengths = np.zeros(len(texts), dtype=np.int64)
    truncated = 0
    for row, ids in enumerate(tokenizer.encode_batch([texts[i] for i in order])):
        truncated += len(ids) > body
        ids = ids[:body] or [pad_id]
        if encoder:
            ids = [cls_id, *ids, sep_id]
        idx[row, : len(ids)] = ids
        lengths[row] = len(ids)
    labels = np.array([index[raw[i]] for i in order], dtype=np.int64)
    return LabelledData(*split_rows(idx, lengths, labels, d, "labelled rows"), names, len(texts), truncated)


def split_rows(idx: np.ndarray, lengths: np.ndarray, labels: np.ndarray, d, noun: str):
    """(train, validation, test) of shuffled examples: validation the last data.val_fraction, test the
    data.test_fraction before it."""
    n = len(lengths)
    train_end, val_start = split_bounds(n, d, noun)

    def rows(a: int, b: int) -> LabelledSplit:
        return LabelledSplit(idx[a:b], lengths[a:b], labels[a:b])

    return rows(0, train_end), rows(val_start, n), rows(train_end, val_start)


def split_bounds(n: int, d, noun: str) -> tuple[int, int]:
    """Where training ends and validation starts among `n` shuffled examples: validation the last
    data.val_fraction, test the data.test_fraction before it."""
    n_val = max(1, int(round(n * d.val_fraction)))
    n_test = int(round(n * d.test_fraction))
    split = n - n_val
    if split - n_test < 1:
        raise UserError(f"{n} {noun} leave none to train on after the validation and test splits: "
                        f"lower data.val_fraction or data.test_fraction")
    return split - n_test, split


class ExampleSampler:
    """Batches of examples: a fresh permutation every epoch, a pure function of (seed, step)."""

    def __init__(self, data: LabelledSplit, batch_size: int, *, seed: int, grad_accum: int = 1, rank: int = 0,
                 world_size: int = 1):
        self.data, self.batch_size, self.seed = data, batch_size, seed
        self.grad_accum, self.rank, self.world_size = grad_accum, rank, world_size

    def batch(self, step: int, micro: int = 0) -> dict[str, np.ndarray]:
        n = self.world_size * self.grad_accum * self.batch_size
        first = step * n + (micro * self.world_size + self.rank) * self.batch_size
        positions = np.arange(first, first + self.batch_size)
        N = len(self.data)
        rows = np.empty(self.batch_size, dtype=np.int64)
        for epoch in np.unique(positions // N):
            here = positions // N == epoch
            rows[here] = np.random.default_rng([self.seed, int(epoch)]).permutation(N)[positions[here] % N]
        return self.data.take(rows)


def _natural(label: str):
    return (0, int(label), "") if label.lstrip("-").isdigit() else (1, 0, label)


def classification_metrics(labels: np.ndarray, predictions: np.ndarray, n_classes: int) -> dict:
    """Accuracy, macro-F1 (the mean over classes of per-class F1; a class never predicted nor present
    counts 0) and the confusion matrix, rows = true label, columns = predicted."""
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    tp = np.diag(confusion).astype(float)
    predicted, actual = confusion.sum(0), confusion.sum(1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {"accuracy": float(tp.sum() / max(1, len(labels))), "macro_f1": float(f1.mean()),
            "confusion": confusion.tolist()}


def framing_ids(tokenizer, *, encoder: bool) -> dict[str, int]:
    """How a labelled example is framed: an encoder reads [CLS] text [SEP] padded with [PAD] (added to the
    vocabulary when missing); a decoder reads the text alone, padded with [PAD] or id 0."""
    if encoder:
        sp = special_ids(tokenizer)
        return {"pad_id": sp.pad, "cls_id": sp.cls, "sep_id": sp.sep}
    return {"pad_id": tokenizer.token_id("[PAD]") or 0}
