"""Questions framed for an encoder, `[CLS] question [SEP] context [SEP]`, in overlapping windows of the context.

A context longer than the model reads is cut into windows that each repeat the question and share
`stride` tokens with the one before (the tokenizers library's own truncation, so transformers' tokenizer
cuts an exported model's input at the same places). The question's tokens are type 0, the context's type 1. A
window is labelled with the first answer's first and last token where the whole answer lies inside it, else
with [CLS] (position 0), which is also every window's label for a question the context does not answer; so
SQuAD's models and transformers' BertForQuestionAnswering are trained. Questions are shuffled once with the
run's seed and split three ways before they are cut, so a question's windows stay in one split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer as HFTokenizer
from tokenizers.processors import TemplateProcessing

from engine.config.schema import RunConfig
from engine.core.errors import UserError
from engine.data.labelled import LabelledSplit, split_bounds
from engine.data.masked import special_ids
from engine.data.span_examples import SpanExample
from engine.data.tokenizer import Tokenizer, train_tokenizer

SPECIAL_TOKENS = 3
"""[CLS], [SEP] after the question, [SEP] after the context."""


def window_stride(doc_stride: int, block_size: int) -> int:
    """The tokens two windows of a context share: task.doc_stride, or a quarter of the context when it is 0."""
    return doc_stride or block_size // 4


def pair_encoder(tokenizer: Tokenizer, block_size: int, stride: int) -> HFTokenizer:
    """A copy of the tokenizer that frames (question, context) pairs and cuts long contexts into windows."""
    cls, sep = tokenizer.token_id("[CLS]"), tokenizer.token_id("[SEP]")
    if cls is None or sep is None:
        raise UserError("this tokenizer has no [CLS] and [SEP] tokens: a question answerer frames its input with them")
    hf = HFTokenizer.from_str(tokenizer.to_str())
    hf.post_processor = TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                           special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    hf.no_padding()
    hf.enable_truncation(max_length=block_size, stride=stride, strategy="only_second")
    return hf


def check_question_room(tokenizer: Tokenizer, questions: list[str], block_size: int, stride: int) -> None:
    """Refuse a question that leaves its context no more room in a window than the windows' overlap."""
    for question, ids in zip(questions, tokenizer.encode_batch(questions)):
        room = block_size - SPECIAL_TOKENS - len(ids)
        if room <= stride:
            shown = question if len(question) <= 60 else question[:60] + "…"
            raise UserError(f"the question {shown!r} is {len(ids)} tokens: with [CLS] and two [SEP] it leaves "
                            f"{max(room, 0)} of model.block_size = {block_size} for its context, which must be more "
                            f"than the windows' overlap of {stride} (task.doc_stride): shorten the question, or "
                            f"raise model.block_size or lower task.doc_stride")


@dataclass
class SpanSplit(LabelledSplit):
    """Windows of questions on contexts: labels (N, 2) are each window's answer start and end positions."""

    token_types: np.ndarray
    """(N, T) 0 for [CLS], the question and its [SEP]; 1 for the context and the last [SEP]."""
    example: np.ndarray
    """Which question (of the split's, in order) each window reads."""
    word_start: np.ndarray
    """Each context token's word's first character in the context, -1 for the question and special tokens."""
    word_end: np.ndarray

    def take(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        width = int(self.lengths[rows].max())
        return {"idx": self.idx[rows, :width].astype(np.int64), "lengths": self.lengths[rows].astype(np.int64),
                "targets": self.labels[rows].astype(np.int64),
                "token_types": self.token_types[rows, :width].astype(np.int64)}

    def allowed(self, rows: np.ndarray) -> np.ndarray:
        """Where an answer may start or end: the context's tokens, and [CLS] for no answer."""
        ok = self.word_start[rows] >= 0
        ok[:, 0] = True
        return ok


def encode_windows(tokenizer: Tokenizer, examples: list[SpanExample], block_size: int, stride: int,
                   pad_id: int) -> SpanSplit:
    """Every window of the examples, in order, labelled with the first answer (or [CLS]); a question that leaves
    its context too little room is refused first."""
    check_question_room(tokenizer, [e.question for e in examples], block_size, stride)
    encoder = pair_encoder(tokenizer, block_size, stride)
    encodings = encoder.encode_batch([(e.question, e.context) for e in examples])
    windows = [(n, w) for n, enc in enumerate(encodings) for w in (enc, *enc.overflowing)]
    N, T = len(windows), block_size
    idx = np.full((N, T), pad_id, dtype=np.int64)
    types = np.zeros((N, T), dtype=np.int64)
    word_start = np.full((N, T), -1, dtype=np.int32)
    word_end = np.full((N, T), -1, dtype=np.int32)
    lengths, labels = np.zeros(N, dtype=np.int64), np.zeros((N, 2), dtype=np.int64)
    which = np.array([n for n, _ in windows], dtype=np.int64)
    for row, (n, w) in enumerate(windows):
        L = len(w.ids)
        idx[row, :L], types[row, :L], lengths[row] = w.ids, w.type_ids, L
        ctx = np.array([i for i, s in enumerate(w.sequence_ids) if s == 1], dtype=np.int64)
        if not len(ctx):
            continue
        offsets = np.array(w.offsets, dtype=np.int64)[ctx]
        words = np.array([-1 - i if w.word_ids[i] is None else w.word_ids[i] for i in ctx], dtype=np.int64)
        begins = np.r_[True, words[1:] != words[:-1]]  # a word's pieces lie side by side
        group = np.cumsum(begins) - 1
        word_start[row, ctx] = np.minimum.reduceat(offsets[:, 0], np.flatnonzero(begins))[group]
        word_end[row, ctx] = np.maximum.reduceat(offsets[:, 1], np.flatnonzero(begins))[group]
        example = examples[n]
        if example.answers:
            a = example.starts[0]
            b = a + len(example.answers[0])
            if offsets[0, 0] <= a and offsets[-1, 1] >= b:  # the whole answer lies in this window
                labels[row] = ctx[np.flatnonzero(offsets[:, 0] <= a)[-1]], ctx[np.flatnonzero(offsets[:, 1] >= b)[0]]
    return SpanSplit(idx, lengths, labels, types, which, word_start, word_end)


@dataclass
class SpanData:
    train: SpanSplit
    val: SpanSplit
    test: SpanSplit
    val_examples: list[SpanExample]
    test_examples: list[SpanExample]
    train_examples: list[SpanExample]
    questions: int
    unanswerable: int
    cut: int
    """Answers no window holds whole (longer than the windows' overlap, across a window's end): not learnt."""


def load_spans(cfg: RunConfig, tokenizer: Tokenizer, examples: list[SpanExample], *, pad_id: int) -> SpanData:
    """The questions shuffled, split three ways and cut into labelled windows."""
    T = cfg.model.block_size
    stride = window_stride(cfg.task.doc_stride, T)
    if len(examples) < 4:
        raise UserError(f"{len(examples)} questions are too few to train a question answerer on: it needs many more")
    order = np.random.default_rng(cfg.train.seed).permutation(len(examples))
    picked = [examples[i] for i in order]
    train_end, val_start = split_bounds(len(picked), cfg.data, "questions")
    parts = [picked[:train_end], picked[val_start:], picked[train_end:val_start]]
    train, val, test = (encode_windows(tokenizer, part, T, stride, pad_id) for part in parts)
    answered = [picked[n] for n in range(train_end) if picked[n].answers]
    held = np.zeros(len(parts[0]), dtype=bool)
    held[train.example[train.labels[:, 0] > 0]] = True
    cut = len(answered) - int(held.sum())
    return SpanData(train, val, test, parts[1], parts[2], parts[0], len(examples),
                    sum(not e.answers for e in examples), cut)


def span_tokenizer(cfg: RunConfig, examples: list[SpanExample],
                   say: Callable[[str, str], None] = lambda stage, msg: None) -> Tokenizer:
    """The [tokenizer] section's tokenizer trained on the contexts (each once) and the questions."""
    t = cfg.tokenizer
    if t.kind == "file":
        return Tokenizer.load(t.path)
    texts = list(dict.fromkeys(e.context for e in examples)) + [e.question for e in examples]
    say("tokenizer", f"training a {t.kind} tokenizer on {len(texts):,} contexts and questions")
    return train_tokenizer(t.kind, lambda: iter(texts), vocab_size=t.vocab_size, length=len(texts))


def span_report(cfg: RunConfig, examples: list[SpanExample], tokenizer: Tokenizer) -> list[str]:
    """What `prepare` prints for questions: their count, the unanswerable ones, the tokens and the windows."""
    T = cfg.model.block_size
    stride = window_stride(cfg.task.doc_stride, T)
    special_ids(tokenizer)  # [CLS] and [SEP] frame the windows: added where the tokenizer lacks them, as training does
    check_question_room(tokenizer, [e.question for e in examples], T, stride)
    contexts = list(dict.fromkeys(e.context for e in examples))
    lengths = sorted(len(ids) for ids in tokenizer.encode_batch(contexts))
    questions = [len(ids) for ids in tokenizer.encode_batch([e.question for e in examples])]
    encoder = pair_encoder(tokenizer, T, stride)
    windows = sum(1 + len(enc.overflowing) for enc in encoder.encode_batch([(e.question, e.context) for e in examples]))
    unanswerable = sum(not e.answers for e in examples)
    return [f"questions {len(examples):,} on {len(contexts):,} contexts; {unanswerable:,} the context does not answer",
            f"tokens per context: mean {sum(lengths) / len(lengths):.1f}, longest {lengths[-1]:,}; per question: "
            f"mean {sum(questions) / len(questions):.1f}", f"vocabulary {tokenizer.vocab_size:,}",
            f"windows {windows:,} of at most {T} tokens (model.block_size), overlapping by {stride} (task.doc_stride)"
            + (f": {windows - len(examples):,} more than questions, from contexts longer than a window"
               if windows > len(examples) else ": every question and its context fit in one")]
