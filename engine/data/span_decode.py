"""The answer to a question from a model's start and end logits over the windows of its context.

As transformers' question-answering pipeline decides (its select_starts_ends and decode_spans), so an exported
model gives there what `predict` gives here: in each window the logits outside the context (bar [CLS]) are set
to -10000 and each side is a softmax; [CLS]'s start times end probability is the window's no-answer score, the
lowest over the windows counts; a span is a start and an end in the context, the end not before the start and
at most `max_tokens` tokens on, scored by its start times end probability; the best span over the windows wins,
unless the no-answer score is higher. The span's characters are widened to whole words of the context.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_ANSWER_TOKENS = 15
"""The longest answer looked for, in tokens: transformers' pipeline's default (max_answer_len)."""
OUTSIDE = -10000.0


@dataclass
class SpanGuess:
    window: int | None
    """Which of the windows holds the best span (None: no span at all)."""
    start: int
    end: int
    """The span's first and last token in that window."""
    score: float
    no_answer: float
    """The no-answer score: [CLS]'s start times end probability, the lowest over the windows."""

    @property
    def answered(self) -> bool:
        return self.window is not None and self.score >= self.no_answer


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def best_span(start_logits: np.ndarray, end_logits: np.ndarray, allowed: np.ndarray,
              max_tokens: int = MAX_ANSWER_TOKENS) -> SpanGuess:
    """The best span of one question's windows: (W, T) logits, and where an answer may lie (the context and
    [CLS] at position 0, as SpanSplit.allowed says)."""
    best = SpanGuess(None, 0, 0, 0.0, float("inf"))
    for w in range(len(start_logits)):
        ok = allowed[w]
        p_start = _softmax(np.where(ok, start_logits[w], OUTSIDE).astype(np.float64))
        p_end = _softmax(np.where(ok, end_logits[w], OUTSIDE).astype(np.float64))
        best.no_answer = min(best.no_answer, float(p_start[0] * p_end[0]))
        p_start[0] = p_end[0] = 0.0
        scores = np.tril(np.triu(np.outer(p_start, p_end)), max_tokens - 1)
        i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
        if ok[i] and ok[j] and i > 0 and (best.window is None or scores[i, j] > best.score):
            best.window, best.start, best.end, best.score = w, int(i), int(j), float(scores[i, j])
    return best


def span_chars(guess: SpanGuess, word_start: np.ndarray, word_end: np.ndarray) -> tuple[int, int]:
    """The guess's character offsets in the context, widened to whole words; (0, 0) for no answer."""
    if not guess.answered:
        return 0, 0
    return int(word_start[guess.window, guess.start]), int(word_end[guess.window, guess.end])
