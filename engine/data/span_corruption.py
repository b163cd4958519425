"""T5's denoising objective on plain text: spans of a window are replaced by sentinel tokens in the
source, and the target lists the spans after their sentinels.

    source: Thank you <extra_id_0> me to your party <extra_id_1> week.
    target: <extra_id_0> for inviting <extra_id_1> last

15% of the tokens (`density`) are dropped, in spans of mean length 3; span and gap lengths are a
random partition, so spans fall anywhere. Windows are drawn from the token stream as a pure function
of (seed, step), like every other sampler.
"""

from __future__ import annotations

import numpy as np

from engine.data.pairs import Specials, padded_pairs


def partition(total: int, parts: int, rng: np.random.Generator) -> np.ndarray:
    """`parts` positive sizes summing to `total`, uniformly at random."""
    cuts = np.sort(rng.choice(np.arange(1, total), parts - 1, replace=False)) if parts > 1 else np.array([], int)
    return np.diff(np.concatenate([[0], cuts, [total]])).astype(np.int64)


def span_counts(length: int, density: float, mean_span: float, max_spans: int) -> tuple[int, int]:
    """(noise tokens, spans) for a window of `length` tokens."""
    noise = int(min(max(round(length * density), 1), length - 1))
    spans = int(min(max(round(noise / mean_span), 1), max_spans, length - noise))
    return noise, spans


def corrupt(tokens: list[int], sentinels: list[int], rng: np.random.Generator, *, density: float = 0.15,
            mean_span: float = 3.0) -> tuple[list[int], list[int]]:
    """(source, target) of one window."""
    noise, spans = span_counts(len(tokens), density, mean_span, len(sentinels))
    drop, keep = partition(noise, spans, rng), partition(len(tokens) - noise, spans, rng)
    src, tgt, at = [], [], 0
    for i in range(spans):
        src += tokens[at: at + keep[i]]
        at += keep[i]
        src.append(sentinels[i])
        tgt += [sentinels[i], *tokens[at: at + drop[i]]]
        at += drop[i]
    return src, tgt


def window_length(max_source: int, max_target: int, n_sentinels: int, density: float = 0.15,
                  mean_span: float = 3.0) -> int:
    """The longest window whose corrupted source and target (each with its <eos>) fit the two lengths."""
    length = max_source + max_target
    while length > 2:
        noise, spans = span_counts(length, density, mean_span, n_sentinels)
        if length - noise + spans + 1 <= max_source and noise + spans + 1 <= max_target:
            return length
        length -= 1
    return 2


class SpanCorruptionSampler:
    def __init__(self, tokens: np.ndarray, length: int, batch_size: int, specials: Specials, *, seed: int,
                 grad_accum: int = 1, rank: int = 0, world_size: int = 1, density: float = 0.15):
        self.tokens, self.length, self.batch_size, self.specials = tokens, length, batch_size, specials
        self.seed, self.grad_accum, self.rank, self.world_size = seed, grad_accum, rank, world_size
        self.density = density

    def batch(self, step: int, micro: int = 0) -> dict[str, np.ndarray]:
        return self.windows(np.random.default_rng([self.seed, step, micro, self.rank]))

    def windows(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        starts = rng.integers(0, len(self.tokens) - self.length + 1, self.batch_size)
        pairs = [corrupt(self.tokens[s: s + self.length].tolist(), self.specials.sentinels, rng,
                         density=self.density) for s in starts]
        return padded_pairs([p[0] for p in pairs], [p[1] for p in pairs], self.specials)

    def eval_batches(self, n: int, seed: int) -> list[dict[str, np.ndarray]]:
        rng = np.random.default_rng([seed, 7])
        return [self.windows(rng) for _ in range(n)]
