"""A tagger's entities in typed text: words found, tagged on their first piece, grouped into entities.

Typed text is split into words and punctuation marks (as BERT's pre-tokenizer splits it), read as training
read a sentence (engine/data/tagged.py: words joined by single spaces, each labelled on its first piece) and
grouped as seqeval groups tags (engine/data/entity_metrics.py), so `predict` finds what transformers'
token-classification pipeline finds in an export with aggregation_strategy="first".
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import torch

from engine.core.errors import UserError
from engine.data.entity_metrics import entities
from engine.data.tagged import OUTSIDE, word_pieces

WORD = re.compile(r"\w+|[^\w\s]")


@dataclass
class Entity:
    kind: str
    text: str
    start: int
    """Character offsets of the entity in the typed text (end exclusive)."""
    end: int
    score: float
    """The mean probability of its words' tags."""


@dataclass
class Tagged:
    words: list[tuple[str, int, int]]
    """Each word with its character offsets."""
    tags: list[str]
    entities: list[Entity]


def is_tagger(model) -> bool:
    return bool(model.config.num_labels) and model.config.label_head == "tokens"


def marked_text(words: list[str], tags: list[str]) -> str:
    """The words with each entity bracketed and typed: "[Ada Lovelace](PER) flew to [Paris](LOC) ."."""
    out, spans = list(words), entities(tags)
    for kind, a, b in reversed(spans):
        out[a:b + 1] = [f"[{' '.join(words[a:b + 1])}]({kind})"]
    return " ".join(out)


def windows(starts: list[int], body: int) -> list[tuple[int, int]]:
    """Token ranges [a, b) of at most `body` tokens covering a text's pieces, each beginning at a word's first
    piece and ending before one (a word longer than a window is cut), each overlapping the last by about a
    quarter, so a text longer than the model's context is read whole."""
    n = len(starts)
    firsts = [p for p, w in enumerate(starts) if w >= 0]  # where each word begins
    out, a = [], 0
    while a + body < n:
        last = bisect_right(firsts, a + body) - 1  # the last word beginning inside the window
        cut = firsts[last] if last >= 0 and firsts[last] > a else a + body
        out.append((a, cut))
        a = next((p for p in firsts[bisect_left(firsts, cut - body // 4):] if p > a), n)
    return out + [(a, n)] if a < n else out


@torch.no_grad()
def tag_text(model, tokenizer, text: str, labels: list[str] | None = None) -> Tagged:
    """The words of `text`, their tags, and the entities they form. A text longer than the model's context is
    read in overlapping windows of whole words, each word tagged from the window where it sits furthest from an
    edge. `labels`: the tag names (default: the loaded run's, model.labels)."""
    if not is_tagger(model):
        raise UserError("this run's model is not a tagger (model.objective = \"tag\")")
    words = [(m.group(), m.start(), m.end()) for m in WORD.finditer(text)]
    if not words:
        raise UserError("the text has no words to tag: type a sentence")
    cfg = model.config
    ids, starts = word_pieces(tokenizer, [[w for w, _, _ in words]])[0]
    encoder = cfg.arch == "bert"
    body = cfg.block_size - 2 if encoder else cfg.block_size
    names = list(labels or getattr(model, "labels", None) or [str(i) for i in range(cfg.num_labels)])
    tags, scores, margins = [OUTSIDE] * len(words), [1.0] * len(words), [-1] * len(words)
    model.eval()
    device = next(model.parameters()).device
    for a, b in windows(starts, body):
        window = ids[a:b]
        if encoder:
            window = [tokenizer.token_id("[CLS]"), *window, tokenizer.token_id("[SEP]")]
        x = torch.tensor([window], device=device)
        logits, _ = model(x, lengths=torch.tensor([len(window)], device=device))
        probs = torch.softmax(logits.float()[0, 1 if encoder else 0:], -1)
        for pos in range(a, b):
            word, margin = starts[pos], min(pos - a, b - 1 - pos)
            if word >= 0 and margin > margins[word]:
                best = int(probs[pos - a].argmax())
                tags[word], scores[word], margins[word] = names[best], float(probs[pos - a, best]), margin
    found = [Entity(kind, text[words[a][1]:words[b][2]], words[a][1], words[b][2],
                    sum(scores[a:b + 1]) / (b - a + 1)) for kind, a, b in entities(tags)]
    return Tagged(words, tags, found)
