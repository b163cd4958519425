"""What the Corpus page does alike for a corpus of records that one objective reads in its own way (tagged sentences,
conversations, questions on contexts): the records are the documents, the preview shows the first few, and Prepare
gives the tokenizer trained as training trains it, the tokens it reads and `engine prepare`'s report, less the line
that judges the model's context (the Model page's). Each kind says its own nouns; the page shows them all one way."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

from engine.config import schema as C
from engine.core.errors import UserError
from engine.data.files import find_corpus_files
from engine.run.humanlog import counted

SHOWN = 5
"""The records a preview shows."""
ANY_LENGTH = 1 << 30
"""A context no record is longer than: the page measures the corpus; the Model page judges the context."""


def files_of_kinds(path: str | Path, builders: set[str]) -> dict[str, list[Path]]:
    """The source's files by reader ("json", "csv", "text"), when it has files and all are of `builders`; else none
    (no source, unreadable, a saved dataset, or a file of another kind): what a kind's sniffing starts from."""
    if not str(path).strip():
        return {}
    try:
        files = find_corpus_files(path)
    except (UserError, OSError):
        return {}
    kinds = files.by_builder
    return {} if files.saved_dataset is not None or set(kinds) - builders else kinds


def any_context(cfg: C.RunConfig) -> C.RunConfig:
    """`cfg` with a context every record fits in, for the engine's readers that also judge the context."""
    return replace(cfg, model=replace(cfg.model, block_size=ANY_LENGTH))


@dataclass
class PreparedRecords:
    """A corpus of records prepared: a kind subclasses it for its nouns (and any counts of its own)."""

    tokenizer: object
    tokens: int
    """Every record's tokens as the model reads them."""
    report: list[str]
    """`engine prepare`'s lines for this kind of corpus, less the one about the model's context."""
    records: int
    """The sentences, conversations or questions read."""

    noun: ClassVar[str] = "record"
    """What one record is called in the ready line ("tagged sentence")."""
    unit: ClassVar[str] = "records"
    """What the statistics card calls the records ("sentences")."""

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    def counted(self) -> str:
        """The records counted for the ready line ("12 tagged sentences")."""
        return counted(self.records, self.noun)

    def ready_line(self) -> str:
        return f"Ready: {self.counted()}, {counted(self.tokens, 'token')}, vocabulary of {self.vocab_size:,}."

    def card(self) -> dict[str, str]:
        """The statistics card's rows: the records are the documents; no text stream is cut."""
        return {"documents": f"{self.records:,} {self.unit}", "tokens": f"{self.tokens:,}",
                "vocab": f"{self.vocab_size:,}"}
