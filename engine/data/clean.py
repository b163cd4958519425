"""Optional cleaning of documents, with statistics saying what each step removed."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

_SPACES = re.compile(r"[ \t\u00a0]+")
_TRAILING = re.compile(r"[ \t]+\n")


@dataclass
class CleanStats:
    documents_in: int = 0
    documents_out: int = 0
    removed: dict[str, int] = field(default_factory=dict)
    """Step -> documents dropped (dedupe, min_chars) or characters removed (whitespace)."""

    def add(self, step: str, n: int) -> None:
        if n:
            self.removed[step] = self.removed.get(step, 0) + n


def clean_documents(docs: Iterable[str], *, normalize: str = "", collapse_whitespace: bool = False,
                    dedupe: bool = False, min_chars: int = 0, stats: CleanStats | None = None) -> Iterator[str]:
    stats = stats if stats is not None else CleanStats()
    seen: set[int] = set()
    for doc in docs:
        stats.documents_in += 1
        if doc is None:
            stats.add("empty or missing", 1)
            continue
        if normalize:
            norm = unicodedata.normalize(normalize, doc)
            stats.add(f"{normalize} changed characters", abs(len(doc) - len(norm)))
            doc = norm
        if collapse_whitespace:
            squeezed = _TRAILING.sub("\n", _SPACES.sub(" ", doc))
            stats.add("whitespace characters", len(doc) - len(squeezed))
            doc = squeezed
        if len(doc) < max(min_chars, 1):
            stats.add("shorter than min_chars" if doc else "empty documents", 1)
            continue
        if dedupe:
            key = hash(doc)
            if key in seen:
                stats.add("exact duplicates", 1)
                continue
            seen.add(key)
        stats.documents_out += 1
        yield doc
