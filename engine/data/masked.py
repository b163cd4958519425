"""Masked-LM batches: BERT's 15% selection with 80/10/10 replacement, whole words, sentence pairs.

Like the causal sampler, every batch is a pure function of (seed, step), so runs resume exactly.
A row is `[CLS] tokens [SEP]`, or with next-sentence prediction `[CLS] A [SEP] B [SEP]`, where B
follows A in the corpus half of the time (label 0, "is next") and otherwise comes from another
document (label 1), as in BERT. Token types are 0 up to the first [SEP] and 1 after it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IGNORE = -100
MLM_SPECIALS = ("[PAD]", "[CLS]", "[SEP]", "[MASK]")


@dataclass(frozen=True)
class SpecialIds:
    pad: int
    cls: int
    sep: int
    mask: int
    n_regular: int
    """Random replacements are drawn from ids below this that are not special."""
    excluded: tuple[int, ...] = ()

    @property
    def all(self) -> tuple[int, ...]:
        return (self.pad, self.cls, self.sep, self.mask, *self.excluded)


def special_ids(tokenizer) -> SpecialIds:
    """The tokenizer's [PAD] [CLS] [SEP] [MASK] ids, added to its vocabulary when it lacks them."""
    missing = [t for t in MLM_SPECIALS if tokenizer.token_id(t) is None]
    if missing:
        tokenizer.add_special_tokens(missing)
    ids = {t: tokenizer.token_id(t) for t in MLM_SPECIALS}
    others = tuple(i for t in ("[UNK]", "<unk>", "<eos>") if (i := tokenizer.token_id(t)) is not None)
    return SpecialIds(ids["[PAD]"], ids["[CLS]"], ids["[SEP]"], ids["[MASK]"], tokenizer.vocab_size, others)


def continuation_table(tokenizer) -> np.ndarray:
    """True for tokens that continue the word before them (WordPiece '##x', BPE and Unigram pieces
    without a leading space marker). Character tokenizers are handled by `word_ids` from spaces."""
    vocab = tokenizer.hf.get_vocab(with_added_tokens=True)
    table = np.zeros(max(vocab.values()) + 1, dtype=bool)
    for token, i in vocab.items():
        if tokenizer.kind == "wordpiece":
            table[i] = token.startswith("##")
        elif tokenizer.kind == "bpe":
            table[i] = bool(token) and token[0] not in "Ġ" and token[0].isalnum()
        elif tokenizer.kind == "unigram":
            table[i] = bool(token) and not token.startswith("▁") and token[0].isalnum()
    return table


def word_ids(row: np.ndarray, continues: np.ndarray | None, space_ids: np.ndarray | None) -> np.ndarray:
    """A word number per position: a token continuing a word shares its predecessor's number."""
    if continues is not None and continues.any():
        cont = continues[row]
    elif space_ids is not None:  # characters: a word is a run of non-space characters
        is_space = np.isin(row, space_ids)
        cont = ~is_space & np.concatenate([[False], ~is_space[:-1]])
    else:
        cont = np.zeros(len(row), dtype=bool)
    cont[0] = False
    return np.cumsum(~cont) - 1


def mask_row(row: np.ndarray, rng: np.random.Generator, sp: SpecialIds, prob: float,
             words: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) for one row: `prob` of the non-special tokens (or whole words) are chosen;
    of those 80% become [MASK], 10% a random token, 10% stay; targets are IGNORE elsewhere."""
    candidates = ~np.isin(row, sp.all)
    n_cand = int(candidates.sum())
    targets = np.full(len(row), IGNORE, dtype=np.int64)
    if n_cand == 0:
        return row.copy(), targets
    n_mask = max(1, int(round(prob * n_cand)))
    if words is None:
        chosen = np.flatnonzero(candidates)[rng.permutation(n_cand)[:n_mask]]
    else:
        order = rng.permutation(np.unique(words[candidates]))
        picked, count = [], 0
        for w in order:
            at = np.flatnonzero((words == w) & candidates)
            if count and count + len(at) > n_mask * 1.5:
                continue  # a long word would overshoot the budget: try a shorter one
            picked.append(at)
            count += len(at)
            if count >= n_mask:
                break
        chosen = np.concatenate(picked)
    inputs = row.copy()
    targets[chosen] = row[chosen]
    r = rng.random(len(chosen))
    inputs[chosen[r < 0.8]] = sp.mask
    rand = chosen[(r >= 0.8) & (r < 0.9)]
    if len(rand):
        draw = rng.integers(0, sp.n_regular, size=len(rand))
        bad = np.isin(draw, sp.all)
        draw[bad] = row[rand[bad]]  # never insert a special token
        inputs[rand] = draw
    return inputs, targets


class MaskedSampler:
    def __init__(self, tokens: np.ndarray, doc_starts: np.ndarray, block_size: int, batch_size: int, *,
                 specials: SpecialIds, seed: int, prob: float = 0.15, nsp: bool = False,
                 whole_word: bool = False, continues: np.ndarray | None = None, space_ids: np.ndarray | None = None,
                 grad_accum: int = 1, rank: int = 0, world_size: int = 1):
        self.body = block_size - (3 if nsp else 2)
        if len(tokens) < self.body + 1:
            raise ValueError(f"{len(tokens)} tokens cannot fill one window of {self.body + 1}")
        self.tokens, self.docs = tokens, np.asarray(doc_starts, dtype=np.int64)
        self.block_size, self.batch_size, self.grad_accum = block_size, batch_size, grad_accum
        self.sp, self.seed, self.prob, self.nsp = specials, seed, prob, nsp
        self.whole_word, self.continues, self.space_ids = whole_word, continues, space_ids
        self.rank, self.world_size = rank, world_size

    def batch(self, step: int, micro: int = 0) -> dict[str, np.ndarray]:
        rng = np.random.default_rng([self.seed, step])
        n = self.world_size * self.grad_accum * self.batch_size
        seeds = rng.integers(0, 2**63 - 1, size=n)
        i = (micro * self.world_size + self.rank) * self.batch_size
        return self.rows(seeds[i: i + self.batch_size])

    def eval_batches(self, n_batches: int, *, seed: int) -> list[dict[str, np.ndarray]]:
        """Fixed evaluation rows: the same windows and masks at every evaluation."""
        seeds = np.random.default_rng([seed, 0x5EED]).integers(0, 2**63 - 1, size=(n_batches, self.batch_size))
        return [self.rows(s) for s in seeds]

    def rows(self, seeds: np.ndarray) -> dict[str, np.ndarray]:
        out = [self.row(np.random.default_rng(int(s))) for s in seeds]
        batch = {k: np.stack([o[k] for o in out]) for k in ("idx", "targets", "token_types")}
        if self.nsp:
            batch["nsp_labels"] = np.array([o["nsp_label"] for o in out], dtype=np.int64)
        return batch

    def row(self, rng: np.random.Generator) -> dict:
        sp = self.sp
        start = int(rng.integers(0, len(self.tokens) - self.body))
        if not self.nsp:
            seq = np.concatenate([[sp.cls], self.tokens[start: start + self.body], [sp.sep]]).astype(np.int64)
            types = np.zeros(len(seq), dtype=np.int64)
            label = 0
        else:
            a, b, label = self.pair(rng, start)
            seq = np.concatenate([[sp.cls], a, [sp.sep], b, [sp.sep]]).astype(np.int64)
            types = np.concatenate([np.zeros(len(a) + 2, dtype=np.int64), np.ones(len(b) + 1, dtype=np.int64)])
        words = word_ids(seq, self.continues, self.space_ids) if self.whole_word else None
        inputs, targets = mask_row(seq, rng, sp, self.prob, words)
        return {"idx": inputs, "targets": targets, "token_types": types, "nsp_label": label}

    def pair(self, rng: np.random.Generator, start: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Segment A at `start`; B is what follows it (label 0) or, half the time, text from another
        document, or from far away when the corpus is one document (label 1)."""
        len_a = int(rng.integers(1, self.body))
        len_b = self.body - len_a
        a = self.tokens[start: start + len_a]
        if rng.random() < 0.5:
            return a, self.tokens[start + len_a: start + self.body], 0
        doc = np.searchsorted(self.docs, start, side="right")
        for _ in range(10):
            other = int(rng.integers(0, len(self.tokens) - len_b))
            far = abs(other - start) > 2 * self.body
            if far and (len(self.docs) < 2 or np.searchsorted(self.docs, other, side="right") != doc):
                break
        return a, self.tokens[other: other + len_b], 1
