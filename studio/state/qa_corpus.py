"""Questions on contexts (extractive question answering) on the Corpus page, read as `model.objective = "span"`
reads them (engine/data/span_examples.py): whether a source holds them, its first questions with their answers'
character offsets in their contexts (or that the context does not answer), and Prepare's tokenizer, trained on the
contexts and questions as training trains it, with `engine prepare`'s report.

A source holds questions when every file is JSONL with `context` and `question` fields, CSV with the columns
context, question and answer, or SQuAD's JSON (data, paragraphs, qas); reading it whole then refuses a bad row
in the engine's sentence."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from engine.config import schema as C
from engine.data.files import peek_columns
from engine.data.span_examples import ANSWER, CONTEXT, QUESTION, SpanExample, read_span_examples
from engine.data.span_windows import SPECIAL_TOKENS, span_report, span_tokenizer
from engine.run.humanlog import counted
from studio.state.records_corpus import SHOWN, PreparedRecords, any_context, files_of_kinds

ANSWER_KIND = "ANSWER"
"""The mark an answer gets in its context (the entity marks' type label)."""
SNIFF_BYTES = 1 << 16
"""The start of a JSON file looked at for SQuAD's layout."""
SQUAD_START = re.compile(r'^\s*\{.*"data"\s*:\s*\[.*"paragraphs"\s*:\s*\[', re.S)


# ----- does it hold questions? ----------------------------------------------------------------------------
def is_questions(path: str | Path) -> bool:
    """Whether every file of the source (the first few of a folder) holds questions on contexts."""
    kinds = files_of_kinds(path, {"json", "csv"})
    return bool(kinds) and all(_holds_questions(p, kind) for kind, paths in kinds.items() for p in paths[:3])


def _holds_questions(path: Path, kind: str) -> bool:
    if kind == "csv":
        return {CONTEXT, QUESTION, ANSWER} <= set(peek_columns(path))
    return _looks_like_squad(path) or {CONTEXT, QUESTION} <= set(peek_columns(path))


def _looks_like_squad(path: Path) -> bool:
    """SQuAD's JSON starts as an object whose data list holds paragraphs (pretty-printed or on one line)."""
    if path.suffix.lower() != ".json":
        return False
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            head = f.read(SNIFF_BYTES)
    except OSError:
        return False
    return bool(SQUAD_START.match(head))


# ----- the preview: questions with their answers marked in their contexts -------------------------------------
@dataclass(frozen=True)
class MarkedQuestion:
    question: str
    context: str
    answer: dict | None
    """The answer as a mark in the context ({kind, text, start, end}, as the worker's span reply gives one), None
    when the context does not answer the question."""


def marked_question(example: SpanExample) -> MarkedQuestion:
    if not example.answers:
        return MarkedQuestion(example.question, example.context, None)
    start, text = example.starts[0], example.answers[0]
    return MarkedQuestion(example.question, example.context,
                          {"kind": ANSWER_KIND, "text": text, "start": start, "end": start + len(text)})


@dataclass(frozen=True)
class QuestionsPreview:
    questions: int
    contexts: int
    unanswerable: int
    """The questions their context does not answer (SQuAD 2.0's)."""
    first: list[MarkedQuestion] = field(default_factory=list)

    def readable(self) -> list[str]:
        """The first questions as plain text: the question (a sentence of the corpus), its answer, then its context."""
        return [f"{q.question}\n→ {q.answer['text'] if q.answer else '(the context does not answer it)'}\n"
                f"{q.context}" for q in self.first]


def preview_questions(data: C.DataConfig, shown: int = SHOWN) -> QuestionsPreview:
    """Every question read (a bad row refused in the engine's sentence); the first `shown` with their answers."""
    examples = read_span_examples(data.path)
    return QuestionsPreview(len(examples), len({e.context for e in examples}), sum(not e.answers for e in examples),
                            [marked_question(e) for e in examples[:shown]])


# ----- Prepare: the tokenizer and the engine's report ------------------------------------------------------
@dataclass
class PreparedQuestions(PreparedRecords):
    """The records: the questions (`tokens` counts each one's question and context tokens, framed as the model
    reads them)."""

    noun: ClassVar[str] = "question"
    unit: ClassVar[str] = "questions"


def prepare_questions(cfg: C.RunConfig, progress: Callable[[str, str], None]) -> PreparedQuestions:
    """Read the questions and train the [tokenizer] section's tokenizer on the contexts and questions as training
    does; `progress(stage, message)` reports, and raises to cancel."""
    progress("read", f"reading questions from {Path(cfg.data.path).name}")
    examples = read_span_examples(cfg.data.path)
    tokenizer = span_tokenizer(cfg, examples, progress)
    progress("measure", f"measuring {counted(len(examples), 'question')}")
    report = span_report(any_context(cfg), examples, tokenizer)[:-1]  # its last line: windows of the Model page's
    contexts = list(dict.fromkeys(e.context for e in examples))
    length = dict(zip(contexts, (len(ids) for ids in tokenizer.encode_batch(contexts))))
    questions = tokenizer.encode_batch([e.question for e in examples])
    tokens = sum(SPECIAL_TOKENS + len(q) + length[e.context] for e, q in zip(examples, questions))
    return PreparedQuestions(tokenizer, tokens, report, len(examples))
