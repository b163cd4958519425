"""The engine's sentences in the form's words: every config key a sentence names (model.block_size) becomes
the label the user sees on the form, with the key in brackets for whoever writes the TOML
("Context length [model.block_size]"). The engine and its command line keep the keys alone."""

from __future__ import annotations

import re
from functools import lru_cache

from studio.model.fields import GROUPS, label

FORM_LABELS: dict[str, str] = {f"{section}.{key}": label(key, section) for fields in GROUPS.values()
                               for section, key in fields}
"""Every field the Model page's form shows: "section.key" -> its label there."""

CORPUS_LABELS: dict[str, str] = FORM_LABELS | {
    "data.path": "File or folder", "data.documents": "One document is", "data.normalize": "Unicode NFC",
    "data.collapse_whitespace": "Collapse whitespace", "data.dedupe": "Drop exact duplicates",
    "data.min_chars": "Minimum characters", "tokenizer.kind": "Tokenizer kind",
    "tokenizer.vocab_size": "Vocabulary size", "tokenizer.path": "Tokenizer file"}
"""The Corpus page's own words for the corpus and tokenizer fields it shows."""


def _short(text: str) -> str:
    """A label as a sentence names it: "Width (n_embd)" -> "Width" (the key follows in brackets anyway)."""
    return re.sub(r"\s*\([^)]*\)$", "", text)


def _bare_keys(keys) -> dict[str, str]:
    """Keys a sentence may name without their section ("try n_head = 2"): those with an underscore (never an
    English word) that one section alone has."""
    sections: dict[str, list[str]] = {}
    for full in keys:
        sections.setdefault(full.split(".", 1)[1], []).append(full)
    return {key: fulls[0] for key, fulls in sections.items() if "_" in key and len(fulls) == 1}


def in_form_words(sentence: str, labels: dict[str, str] | None = None) -> str:
    """`sentence` with each config key it names replaced by "Label [section.key]" (`labels`: the page's own
    labels, the Model page's form by default; keys no page shows are left as they are)."""
    labels = FORM_LABELS if labels is None else labels
    if not sentence or not labels:
        return sentence
    bare, pattern = _pattern(tuple(sorted(labels)))

    def named(match: re.Match) -> str:
        key = match.group("full") or bare[match.group("bare")]
        return f"{_short(labels[key])} [{key}]"

    return pattern.sub(named, sentence)


@lru_cache(maxsize=8)
def _pattern(keys: tuple[str, ...]) -> tuple[dict[str, str], re.Pattern]:
    bare = _bare_keys(keys)
    full = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
    short = "|".join(re.escape(k) for k in sorted(bare, key=len, reverse=True))
    pattern = rf"(?<![\w.\[/])(?P<full>{full})"  # not inside a path, a file name or brackets already
    if short:
        pattern += rf"|(?<![\w.\[/(-])(?P<bare>{short})"  # nor a label's own "(n_embd)", nor a --flag
    return bare, re.compile(rf"(?:{pattern})(?![\w\]]|\.\w)")

