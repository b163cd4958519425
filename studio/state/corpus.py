"""The current corpus: its source, and what was derived from it (the preview's pairs, tagged sentences or questions,
the prepared corpus and its ready line and report, an error). A new source clears everything derived from the old
one, so no panel goes on describing a corpus that is no longer chosen."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.config.schema import DEMO_PREFIX

from studio.state.chat_corpus import is_chat
from studio.state.events import Event
from studio.state.qa_corpus import QuestionsPreview, is_questions
from studio.state.tagged_corpus import TaggedPreview, is_tagged


def records_objective(path: str) -> str | None:
    """The objective a source's records are for, or None for text and tables: tagged sentences teach a tagger
    (tag), conversations a decoder the assistant's turns (instruct), questions on contexts a question answerer
    (span)."""
    return "tag" if is_tagged(path) else "instruct" if is_chat(path) else "span" if is_questions(path) else None


def shown_elsewhere(source: str, trains_on: str) -> str:
    """The Model page's note while the Corpus page shows a source other than the corpus the form trains on (a
    corpus is the Model page's once prepared and used there), or ""."""
    if not source or _same_corpus(source, trains_on):
        return ""
    return (f"The Corpus page shows {_name(source)}, but this run trains on {_name(trains_on) or 'no corpus yet'}: "
            f"prepare it there and press “Use this corpus on the Model page →” to train on it.")


def _same_corpus(a: str, b: str) -> bool:
    if a.startswith(DEMO_PREFIX) or b.startswith(DEMO_PREFIX):
        return a == b
    return bool(b) and Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def _name(path: str) -> str:
    return path if path.startswith(DEMO_PREFIX) else Path(path).name or path


@dataclass(frozen=True)
class Prepared:
    tokens: int
    vocab: int


class CorpusState:
    def __init__(self) -> None:
        self.changed = Event()
        """() the source or something derived from it changed."""
        self.source = ""
        self.pairs: list[tuple[str, str]] = []
        self.tagged: TaggedPreview | None = None
        """A tagged corpus's sentences and entity types (named entities), None for any other source."""
        self.questions: QuestionsPreview | None = None
        """Questions on contexts with their answers (question answering), None for any other source."""
        self.report: list[str] = []
        """What preparing a corpus of records reported (the engine's lines), [] before or for another source."""
        self.prepared: Prepared | None = None
        self.message = ""
        """The ready line once prepared (or what was cancelled)."""
        self.error = ""

    def choose(self, source: str) -> None:
        """Another source (or another reading of it): nothing derived from the old one still holds."""
        self.source = str(source)
        self.pairs, self.prepared, self.message, self.error = [], None, "", ""
        self.tagged, self.questions, self.report = None, None, []
        self.changed.emit()

    def forget_prepared(self) -> None:
        """An option of cleaning or tokenizing changed: the prepared corpus no longer matches."""
        if self.prepared is not None or self.message:
            self.prepared, self.message, self.report = None, "", []
            self.changed.emit()

    def previewed(self, pairs: list[tuple[str, str]], tagged: TaggedPreview | None = None,
                  questions: QuestionsPreview | None = None) -> None:
        self.pairs, self.tagged, self.questions, self.error = list(pairs), tagged, questions, ""
        self.changed.emit()

    def set_prepared(self, tokens: int, vocab: int, message: str, report: list[str] | tuple = ()) -> None:
        self.prepared, self.message, self.error, self.report = Prepared(tokens, vocab), message, "", list(report)
        self.changed.emit()

    def set_message(self, message: str) -> None:
        self.message = message
        self.changed.emit()

    def failed(self, error: str) -> None:
        """Reading or preparing failed: nothing measured stands, and the panels say why."""
        self.pairs, self.prepared, self.message, self.error = [], None, "", error
        self.tagged, self.questions, self.report = None, None, []
        self.changed.emit()
