"""A tagged corpus (named entities) on the Corpus page, read the way `model.objective = "tag"` reads it
(engine/data/tagged.py): whether a source is one, its first sentences with their entities marked, and Prepare's
tokenizer and report (sentences, words, entities per type, pieces per word, as `engine prepare` prints them).

A source is tagged when its JSONL rows hold `tokens` and `tags` lists, or when the first lines of its text are
CoNLL's (a token, maybe more columns, and a BIO tag last). Lines tagged in another scheme (IOBES or BILOU's
S-PER, or bare PER beside O) are a tagged file too, so that reading it whole refuses it on the Corpus page in the
engine's sentence, as it refuses any bad line, rather than at Train."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import ClassVar

from engine.config import schema as C
from engine.core.errors import UserError
from engine.data.entity_metrics import entities
from engine.data.files import peek_columns
from engine.data.tagged import (
    DOCSTART,
    JSON_KEYS,
    OTHER_PREFIXES,
    check_tag,
    entity_types,
    read_tagged,
    sentence_text,
    tag_names,
    tag_report,
    tag_tokenizer,
    word_pieces,
)
from engine.run.humanlog import counted
from studio.state.records_corpus import SHOWN, PreparedRecords, files_of_kinds

SNIFF_LINES = 20
"""The non-blank lines of a text file looked at to tell CoNLL from prose."""
TYPE = re.compile(r"[A-Z][A-Z0-9_]*")
"""An entity type as tag sets spell one (PER, MISC, WORK_OF_ART): its bare use, beside O, marks a tagged file."""


# ----- is it tagged? ------------------------------------------------------------------------------------
def is_tagged(path: str | Path) -> bool:
    """Whether the source reads as tagged sentences: every file JSONL with tokens and tags lists, or CoNLL-style
    text (a folder of them too)."""
    kinds = files_of_kinds(path, {"text", "json"})
    return bool(kinds) and all(set(JSON_KEYS) <= set(peek_columns(p)) if kind == "json" else _reads_as_conll(p)
               for kind, paths in kinds.items() for p in paths[:3])


def _reads_as_conll(path: Path) -> bool:
    """The first non-blank lines are `token ... TAG` (a -DOCSTART- line allowed): every tag BIO, or every tag
    tag-like in lines of one width, some in another scheme (S-PER, L-LOC) or bare types beside BIO's (O)."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    lines = []
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            for line in f:
                cols = line.split()
                if cols and cols[0] != DOCSTART:
                    lines.append(cols)
                if len(lines) == SNIFF_LINES:
                    break
    except OSError:
        return False
    if not lines or min(map(len, lines)) < 2:
        return False
    kinds = {_tag_kind(cols[-1]) for cols in lines}
    if kinds == {"bio"}:
        return True
    bare_beside_bio = "bare" not in kinds or "bio" in kinds  # John PER beside lives O
    return "" not in kinds and bare_beside_bio and len(set(map(len, lines))) == 1


def _tag_kind(tag: str) -> str:
    """"bio" for a tag training takes, "other" for another scheme's (S-PER, L-LOC), "bare" for a type without a
    prefix (PER), "" for a word."""
    try:
        return check_tag(tag, "", 0) and "bio"
    except UserError:
        pass
    if tag[:2] in OTHER_PREFIXES and TYPE.fullmatch(tag[2:]):
        return "other"
    return "bare" if TYPE.fullmatch(tag) else ""


# ----- the preview: sentences with their entities marked ----------------------------------------------------
@dataclass(frozen=True)
class MarkedSentence:
    text: str
    """The sentence's words joined by single spaces, as the tagger reads them."""
    entities: list[dict]
    """Each entity as the worker's predict reply gives one: kind, text, start and end (character offsets)."""


@dataclass(frozen=True)
class TaggedPreview:
    sentences: int
    types: list[str]
    """The entity types its tags name (O, B- and I- of each), sorted."""
    first: list[MarkedSentence] = field(default_factory=list)
    note: str = ""
    """Why the entities are not marked (the package that groups tags into entities is missing), or ""."""


def marked_sentence(words: list[str], tags: list[str]) -> MarkedSentence:
    """The sentence as text with its entities' character offsets (tags grouped into entities as seqeval does)."""
    starts = list(accumulate((len(w) + 1 for w in words), initial=0))  # each word's first character
    text = sentence_text(words)
    found = [{"kind": kind, "start": starts[a], "end": starts[b] + len(words[b]), "text": text[starts[a]:starts[b]
             + len(words[b])]} for kind, a, b in entities(tags)]
    return MarkedSentence(text, found)


def preview_tagged(data: C.DataConfig, shown: int = SHOWN) -> TaggedPreview:
    """Every sentence read (a bad line refused in the engine's sentence); the first `shown` marked."""
    sentences = read_tagged(data.path, data.encoding)
    types = entity_types(tag_names([], sentences))
    try:
        first = [marked_sentence(s.words, s.tags) for s in sentences[:shown]]
    except UserError as e:  # seqeval missing: the sentences unmarked, and how to install it
        return TaggedPreview(len(sentences), types, [MarkedSentence(sentence_text(s.words), [])
                                                     for s in sentences[:shown]], str(e))
    return TaggedPreview(len(sentences), types, first)


# ----- Prepare: the tokenizer and the engine's report ------------------------------------------------------
@dataclass
class PreparedTagged(PreparedRecords):
    """The records: the tagged sentences (`tokens` counts their pieces as the tagger reads them, no [CLS] and [SEP])."""

    noun: ClassVar[str] = "tagged sentence"
    unit: ClassVar[str] = "sentences"


def prepare_tagged(cfg: C.RunConfig, progress: Callable[[str, str], None]) -> PreparedTagged:
    """Read the sentences and train the [tokenizer] section's tokenizer on them as training does (never on their
    tags); `progress(stage, message)` reports, and raises to cancel."""
    progress("read", f"reading tagged sentences from {Path(cfg.data.path).name}")
    sentences = read_tagged(cfg.data.path, cfg.data.encoding)
    tokenizer = tag_tokenizer(cfg, sentences, progress)
    progress("measure", f"splitting {counted(len(sentences), 'sentence')} into pieces")
    tokens = sum(len(ids) for ids, _ in word_pieces(tokenizer, [s.words for s in sentences]))
    report = tag_report(cfg, sentences, tokenizer)[:-1]  # its last line judges a context this page does not set
    return PreparedTagged(tokenizer, tokens, report, len(sentences))
