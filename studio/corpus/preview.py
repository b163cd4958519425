"""The Corpus page's first look at a source: how many documents, the first few, and whether the file looks
like one record per line (names, sentences) read as one big paragraph; a tagged corpus (named entities) is read
as the tagger reads it, one sentence a document, a corpus of conversations as instruct reads it, one
conversation a document, a turn a line, and questions on contexts as the question answerer reads them, one question
a document."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace

from engine.config import schema as C
from engine.data.corpus import load_documents
from engine.data.corpus_check import holds_pairs
from engine.data.files import skip_summary
from engine.data.pairs import PAIR_KEYS
from studio.state.chat_corpus import ChatPreview, is_chat, preview_chats
from studio.state.qa_corpus import QuestionsPreview, is_questions, preview_questions
from studio.state.tagged_corpus import TaggedPreview, is_tagged, preview_tagged

PREVIEW_DOCS = 30
LINES_PER_DOC = 50
"""A paragraph this many lines long, of short lines, is probably a list of records."""
SHORT_LINE = 40


@dataclass
class Preview:
    documents: int
    first: list[str]
    suggest_lines: bool
    """The file reads as few long paragraphs of short lines: one document per line is probably meant."""
    skipped: str = ""
    """The files of a folder that are not read, and why ("" when none are)."""
    pairs: list[tuple[str, str]] = field(default_factory=list)
    """The first (source, target) rows of a table that holds pairs (seq2seq, instruct)."""
    tagged: TaggedPreview | None = None
    """A tagged corpus's sentences (the documents) and entity types, None for any other source."""
    chats: ChatPreview | None = None
    """A corpus of conversations (the documents), None for any other source."""
    questions: QuestionsPreview | None = None
    """Questions on contexts (the documents) with their answers, None for any other source."""


def read_preview(data: C.DataConfig, cache_dir) -> Preview:
    if is_tagged(data.path):
        tagged = preview_tagged(data)
        return Preview(tagged.sentences, [s.text for s in tagged.first], False, tagged=tagged)
    if is_chat(data.path):
        chats = preview_chats(data)
        return Preview(chats.conversations, chats.first, False, chats=chats)
    if is_questions(data.path):
        questions = preview_questions(data)
        return Preview(questions.questions, questions.readable(), False, questions=questions)
    docs = load_documents(data, cache_dir)
    first = next(iter(docs.iter_text(batch=PREVIEW_DOCS)), [])
    skipped = skip_summary(docs.files.skipped)
    pairs = []
    if holds_pairs(data):
        both = load_documents(replace(data, text_column=data.source_column), cache_dir,
                              extra_columns=(data.target_column,), keys=PAIR_KEYS)
        rows = both.dataset.select(range(min(5, len(both))))
        pairs = [(str(s), str(t)) for s, t in zip(rows["text"], rows[data.target_column])]
    return Preview(len(docs), first, data.documents == "paragraph" and looks_like_records(first),
                   f"{skipped[:1].upper()}{skipped[1:]}." if skipped else "", pairs)


def looks_like_records(paragraphs: list[str]) -> bool:
    """Many short lines per paragraph: a list of names or sentences rather than prose."""
    lines = [ln for p in paragraphs for ln in p.splitlines() if ln.strip()]
    if not paragraphs or len(lines) / len(paragraphs) < LINES_PER_DOC:
        return False
    return statistics.median(len(ln) for ln in lines) <= SHORT_LINE
