"""Conversations as a decoder's training rows and held-out turns, in the chat template.

A conversation's rendered text is tokenized whole, as transformers' `apply_chat_template` and llama.cpp
tokenize it, and a token is learnt when it starts inside a part the template marks as learnt (an assistant's
content and its <eos>): every other position's target is -100. A held-out assistant turn is the conversation
before it, rendered with the assistant's marker after it (the prompt a model answers), and the reference.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.core.errors import UserError
from engine.data.chat_template import ASSISTANT, TEMPLATE, USER, ChatTemplate
from engine.data.pairs import IGNORE


@dataclass
class Encoded:
    ids: list[int]
    learnt: list[bool]
    """Whether each token is learnt (an assistant's), aligned with `ids`."""

    def row(self) -> tuple[list[int], list[int]]:
        """(idx, targets) for next-token training: each position predicts the next token when that is learnt."""
        return self.ids[:-1], [t if keep else IGNORE for t, keep in zip(self.ids[1:], self.learnt[1:])]


@dataclass
class Turn:
    prompt: list[int]
    """The conversation before the turn and the assistant's marker, as token ids."""
    reference: str
    number: int
    """Which of its conversation's assistant turns this is, from 1."""
    asked: str = ""
    """The user's message just before it (shown beside the answer)."""


def encode_conversations(tokenizer, conversations: list[list[dict]],
                         template: ChatTemplate = TEMPLATE) -> list[Encoded]:
    """Each conversation tokenized whole, with the learnt tokens marked by their character offsets."""
    pieces = [template.segments(c) for c in conversations]
    texts = ["".join(text for text, _ in p) for p in pieces]
    out = []
    for p, enc in zip(pieces, tokenizer.hf.encode_batch(texts, add_special_tokens=False)):
        spans, at = [], 0
        for text, learnt in p:
            if learnt:
                spans.append((at, at + len(text)))
            at += len(text)
        learnt = [any(a <= start < b for a, b in spans) for start, _ in enc.offsets]
        out.append(Encoded(list(enc.ids), learnt))
    return out


def prompt_ids(tokenizer, histories: list[list[dict]], template: ChatTemplate = TEMPLATE) -> list[list[int]]:
    """The token ids a decoder answers each history from: the template's text with the assistant's marker after
    it, tokenized whole, as transformers' apply_chat_template(add_generation_prompt=True) does."""
    return tokenizer.encode_batch([template.render(h, add_generation_prompt=True) for h in histories])


def held_out_turns(tokenizer, conversations: list[list[dict]], template: ChatTemplate = TEMPLATE) -> list[Turn]:
    """Every assistant turn of the conversations, in order, each with the prompt its history makes."""
    found = [(c[:i], m["content"], sum(x["role"] == ASSISTANT for x in c[:i]) + 1)
             for c in conversations for i, m in enumerate(c) if m["role"] == ASSISTANT]
    prompts = prompt_ids(tokenizer, [h for h, _, _ in found], template)
    return [Turn(p, reference, number, next((m["content"] for m in reversed(h) if m["role"] == USER), ""))
            for p, (h, reference, number) in zip(prompts, found)]


def fit_rows(encoded: list[Encoded], block_size: int, long_pairs: str, name: str) -> tuple[list[int], int, int]:
    """Which conversations are kept for a context of `block_size`, as data.long_pairs says, and how many were
    cut and dropped: refuse (a longer one is refused, naming it), truncate (a row is the conversation's first
    block_size + 1 tokens; one with nothing learnt left in it is dropped) or drop. Returns (kept, cut, dropped)."""
    keep, cut, dropped = [], 0, 0
    for i, e in enumerate(encoded):
        if len(e.ids) <= block_size + 1:
            keep.append(i)
        elif long_pairs == "refuse":
            raise UserError(f"conversation {i + 1} of {name} is {len(e.ids)} tokens but the model reads at most "
                            f"{block_size + 1} (model.block_size + 1): raise model.block_size, or set "
                            f"data.long_pairs = \"truncate\" or \"drop\"")
        elif long_pairs == "truncate" and any(e.learnt[1: block_size + 1]):
            e.ids, e.learnt = e.ids[: block_size + 1], e.learnt[: block_size + 1]
            keep.append(i)
            cut += 1
        else:
            dropped += 1
    return keep, cut, dropped
