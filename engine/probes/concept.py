"""A concept to probe for, and the labels it gives: the three ways to say what a layer should "know".

- a regex over the text: a token is in the concept when a match covers any of its characters ("inside a
  quotation" `"[^"]*"`, "a digit follows" `.(?=[0-9])`; a match of no characters marks the token before it);
- a labelled token list: `a,e,i,o,u` puts those tokens in the concept and every other out; `a=vowel,t=consonant`
  gives each listed token its label and leaves unlisted ones out; a file holds one token a line (`token` or
  `token<TAB>label`). Tokens are compared with the spaces around them stripped;
- a CSV of (text, label): each text is one example, read at its last token (which has seen all of it; a text
  longer than the model's context keeps its last tokens).

Regex and token concepts label every position of windows of the run's validation tokens, each token by its text
(the windows' text is their tokens' texts joined, so a match never falls between a token's pieces).
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.core.errors import UserError

OUT = -1
"""The label of a position that takes no part (a token the list does not name)."""


@dataclass
class Concept:
    kind: str
    """regex, tokens or csv."""
    spec: str
    """The regex, the token list (or its file), or the CSV file as given."""
    classes: list[str] = field(default_factory=list)


def compile_regex(text: str) -> re.Pattern:
    try:
        return re.compile(text)
    except re.error as e:
        raise UserError(f"--regex {text!r} does not compile: {e}") from None


def regex_labels(pattern: re.Pattern, rows: np.ndarray, strings: dict[int, str]) -> np.ndarray:
    """(n, T) 1 where a match of `pattern` covers the token (in its window's text), else 0."""
    out = np.zeros(rows.shape, dtype=np.int64)
    for r, row in enumerate(rows):
        pieces = [strings[int(i)] for i in row]
        ends = np.cumsum([len(p) for p in pieces])
        text = "".join(pieces)
        chars = np.zeros(len(text) + 1, dtype=np.int64)
        for m in pattern.finditer(text):
            a, b = m.span()
            if a == b:  # a lookahead's empty match: the token before it
                a = max(a - 1, 0)
                b = a + 1
            chars[a:b] = 1
        covered = np.concatenate([[0], np.cumsum(chars)])
        starts = ends - np.array([len(p) for p in pieces])
        out[r] = (covered[ends] - covered[starts]) > 0
    return out


def parse_token_list(text: str) -> dict[str, str | None]:
    """{token: its label, or None in a plain list}; `text` is the list or a file of one token a line."""
    path = Path(text)
    if len(text) < 256 and path.is_file():
        items = [line.replace("\t", "=", 1) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        items = [item for item in text.split(",") if item.strip()]
    mapping: dict[str, str | None] = {}
    for item in items:
        token, _, label = item.partition("=")
        mapping[token.strip()] = label.strip() or None
    if not mapping:
        raise UserError("--tokens is empty: list the concept's tokens, such as a,e,i,o,u (or token=label pairs)")
    if len({label is None for label in mapping.values()}) > 1:
        raise UserError("--tokens mixes plain tokens and token=label pairs: give every token a label, or none")
    return mapping


def token_labels(mapping: dict[str, str | None], rows: np.ndarray, strings: dict[int, str]) -> tuple[np.ndarray, list]:
    """((n, T) class index per position, OUT where it takes no part; the classes' names)."""
    plain = all(label is None for label in mapping.values())
    classes = ["other", "listed"] if plain else sorted({str(v) for v in mapping.values()})
    of_id = {}
    for i, text in strings.items():
        label = mapping.get(text.strip(), OUT)
        of_id[i] = (0 if label == OUT else 1) if plain else (OUT if label == OUT else classes.index(label))
    return np.vectorize(lambda i: of_id[int(i)], otypes=[np.int64])(rows), classes


def read_labelled_csv(path: str) -> tuple[list[str], list[str]]:
    """(texts, labels) of a CSV with the columns `text` and `label` (in any case)."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"--csv file not found: {path}")
    try:
        with open(p, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            columns = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
            if "text" not in columns or "label" not in columns:
                raise UserError(f"{p.name} needs the columns text and label; its header is "
                                f"{', '.join(reader.fieldnames or []) or 'empty'}")
            rows = [(r[columns["text"]] or "", (r[columns["label"]] or "").strip()) for r in reader]
    except UnicodeDecodeError:
        raise UserError(f"{p.name} is not UTF-8 text") from None
    rows = [(text, label) for text, label in rows if text.strip() and label]
    if not rows:
        raise UserError(f"{p.name} has no row with both a text and a label")
    return [t for t, _ in rows], [label for _, label in rows]


def slug(concept: Concept) -> str:
    """A file name for the concept's results: the CSV's name, or the kind and the spec's letters and digits."""
    spec = Path(concept.spec).stem if concept.kind == "csv" else concept.spec
    letters = re.sub(r"[^A-Za-z0-9]+", "-", spec).strip("-")[:40]  # what a --name may hold
    return f"{concept.kind}-{letters or hashlib.blake2b(spec.encode(), digest_size=4).hexdigest()}"
