"""A tagger's entities in typed text: words found, tagged on their first piece, grouped into entities.

Typed text is split into words and punctuation marks (as BERT's pre-tokenizer splits it), read as training
read a sentence (engine/data/tagged.py: words joined by single spaces, each labelled on its first piece) and
grouped as seqeval groups tags (engine/data/entity_metrics.py), so `predict` finds what transformers'
token-classification pipeline finds in an export with aggregation_strategy="first".
"""

from __future__ import annotations

import re
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


@torch.no_grad()
def tag_text(model, tokenizer, text: str, labels: list[str] | None = None) -> Tagged:
    """The words of `text`, their tags, and the entities they form; words beyond the context are tagged O.
    `labels`: the tag names (default: the loaded run's, model.labels)."""
    if not is_tagger(model):
        raise UserError("this run's model is not a tagger (model.objective = \"tag\")")
    words = [(m.group(), m.start(), m.end()) for m in WORD.finditer(text)]
    if not words:
        raise UserError("the text has no words to tag: type a sentence")
    cfg = model.config
    ids, starts = word_pieces(tokenizer, [[w for w, _, _ in words]])[0]
    encoder = cfg.arch == "bert"
    body = cfg.block_size - 2 if encoder else cfg.block_size
    ids, starts = ids[:body], starts[:body]
    if encoder:
        ids = [tokenizer.token_id("[CLS]"), *ids, tokenizer.token_id("[SEP]")]
    model.eval()
    x = torch.tensor([ids], device=next(model.parameters()).device)
    logits, _ = model(x, lengths=torch.tensor([len(ids)], device=x.device))
    probs = torch.softmax(logits.float()[0, 1 if encoder else 0:], -1)
    names = list(labels or getattr(model, "labels", None) or [str(i) for i in range(cfg.num_labels)])
    tags, scores = [OUTSIDE] * len(words), [1.0] * len(words)
    for pos, word in enumerate(starts):
        if word >= 0:
            best = int(probs[pos].argmax())
            tags[word], scores[word] = names[best], float(probs[pos, best])
    found = [Entity(kind, text[words[a][1]:words[b][2]], words[a][1], words[b][2],
                    sum(scores[a:b + 1]) / (b - a + 1)) for kind, a, b in entities(tags)]
    return Tagged(words, tags, found)
