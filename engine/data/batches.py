"""Random training windows from a token array, as a pure function of (seed, step).

Every optimizer step draws one global batch of `world_size * grad_accum * batch_size` window starts;
process `rank` takes its own slice of it for each micro-step. So a run resumed at step s sees exactly
the batches it would have seen, and 2 processes see the same rows as 1 process with twice the batch.
"""

from __future__ import annotations

import numpy as np

from engine.core.errors import UserError


class WindowSampler:
    def __init__(self, tokens: np.ndarray, block_size: int, batch_size: int, *, seed: int, grad_accum: int = 1,
                 rank: int = 0, world_size: int = 1):
        if len(tokens) < block_size + 1:
            raise ValueError(f"{len(tokens)} tokens cannot fill one window of {block_size + 1}")
        self.tokens = tokens
        self.block_size = block_size
        self.batch_size = batch_size
        self.grad_accum = grad_accum
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self._offsets = np.arange(block_size + 1, dtype=np.int64)

    def starts(self, step: int) -> np.ndarray:
        """All window starts of one optimizer step, for every process and micro-step."""
        rng = np.random.default_rng([self.seed, step])
        n = self.world_size * self.grad_accum * self.batch_size
        return rng.integers(0, len(self.tokens) - self.block_size, size=n)

    def batch(self, step: int, micro: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, targets) of shape (batch_size, block_size) for one micro-step of this process."""
        starts = self.starts(step)
        i = (micro * self.world_size + self.rank) * self.batch_size
        return self.windows(starts[i: i + self.batch_size])

    def windows(self, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = self.tokens[starts[:, None] + self._offsets].astype(np.int64)  # (B, T+1), one gather
        return rows[:, :-1], rows[:, 1:]


def eval_starts(n_tokens: int, block_size: int, n_batches: int, batch_size: int, *, seed: int) -> np.ndarray:
    """Fixed evaluation windows: the same ones at every evaluation, so the curve shows learning, not noise."""
    rng = np.random.default_rng([seed, 0x5EED])
    return rng.integers(0, n_tokens - block_size, size=(n_batches, batch_size))


def hold_out_test(train: np.ndarray, docs: np.ndarray, total: int, fraction: float,
                  block_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train, its document starts, test, its document starts): the test split is `fraction` of the
    whole stream (`total` tokens), the stretch at the end of the training part, just before validation."""
    n = int(round(total * fraction))
    if not n:
        return train, docs, train[:0], np.zeros(1, dtype=np.int64)
    if n < block_size + 1 or len(train) - n < block_size + 1:
        raise UserError(f"data.test_fraction = {fraction} holds out {n:,} of {total:,} tokens, leaving "
                        f"{len(train) - n:,} to train on: each needs more than model.block_size = {block_size}. "
                        f"Change data.test_fraction or add text")
    cut = len(train) - n
    test_docs = np.concatenate([[0], docs[docs > cut] - cut]).astype(np.int64)
    return train[:cut], docs[docs < cut], train[cut:], test_docs
