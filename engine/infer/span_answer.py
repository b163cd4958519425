"""A question answerer's answer to a typed question on a typed context, found as evaluation finds it.

The question and context are framed and cut into windows as training cut them (engine/data/span_windows.py),
every window is read, and the answer is picked as transformers' question-answering pipeline picks it
(engine/data/span_decode.py), so `predict` and an exported model in transformers give the same span.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.config.schema import load
from engine.core.errors import UserError
from engine.data.span_decode import MAX_ANSWER_TOKENS, best_span, span_chars
from engine.data.span_examples import SpanExample
from engine.data.span_windows import encode_windows, window_stride
from engine.run.folder import RUN_FILE

WINDOWS_A_PASS = 32


@dataclass
class Answer:
    text: str
    """The answer as it stands in the context; "" when the model finds that the context does not answer."""
    start: int
    end: int
    """Character offsets in the context (end exclusive); 0, 0 for no answer."""
    score: float
    """The best span's start times end probability (the pipeline's score)."""
    no_answer: float
    """The no-answer score ([CLS]'s start times end probability, the lowest over the windows)."""
    windows: int
    """How many windows the context was read in."""


def is_span_model(model) -> bool:
    return bool(model.config.num_labels) and model.config.label_head == "span"


def run_stride(run_dir: str | Path) -> int:
    """The windows' overlap a run was trained with (task.doc_stride; 0, the default, without a run config)."""
    path = Path(run_dir) / RUN_FILE
    return load(path).task.doc_stride if path.is_file() else 0


@torch.no_grad()
def answer_question(model, tokenizer, context: str, question: str, *, doc_stride: int = 0,
                    max_tokens: int = MAX_ANSWER_TOKENS) -> Answer:
    """The answer `model` finds to `question` in `context`; windows overlap by task.doc_stride (0: a quarter of the
    context length)."""
    if not is_span_model(model):
        raise UserError("this run's model does not answer questions (model.objective = \"span\")")
    if not context.strip() or not question.strip():
        raise UserError(f"the {'context' if not context.strip() else 'question'} is empty: give a context and a "
                        f"question on it")
    T = model.config.block_size
    stride = window_stride(doc_stride, T)
    pad = tokenizer.token_id("[PAD]") or 0
    split = encode_windows(tokenizer, [SpanExample(context, question, [], [])], T, stride, pad)
    model.eval()
    device = next(model.parameters()).device
    logits = []
    for first in range(0, len(split), WINDOWS_A_PASS):
        rows = np.arange(first, min(first + WINDOWS_A_PASS, len(split)))
        batch = {k: torch.from_numpy(v).to(device) for k, v in split.take(rows).items() if k != "targets"}
        out = model(**batch)[0].float().cpu().numpy()
        logits.append(np.pad(out, ((0, 0), (0, T - out.shape[1]), (0, 0)), constant_values=-np.inf))
    lg = np.concatenate(logits)
    rows = np.arange(len(split))
    guess = best_span(lg[..., 0], lg[..., 1], split.allowed(rows), max_tokens)
    a, b = span_chars(guess, split.word_start, split.word_end)
    return Answer(context[a:b], a, b, guess.score, guess.no_answer, len(split))
