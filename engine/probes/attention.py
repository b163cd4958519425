"""Attention maps of a text through the model's explicit attention path, and their export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import torch

from engine.core.errors import UserError
from engine.data.pairs import EOS_NAMES, PAD_NAMES, special_id
from engine.infer.seq2seq_generate import greedy_batch
from engine.model.hooks import STACKS, attention_patterns
from engine.probes.cross_attention import seq2seq_patterns


def attention_maps(model, tokenizer, text: str) -> tuple[np.ndarray, list[str]]:
    """(layers, heads, T, T) float32 weights for `text` (cut to the context), and its tokens."""
    if model.config.arch == "t5":
        raise UserError("an encoder-decoder's attention comes in three stacks: choose one (encoder, decoder, cross)")
    ids = tokenizer.encode(text)[: model.config.block_size]
    if not ids:
        raise UserError("the text is empty after tokenization: type some text")
    device = next(model.parameters()).device
    _, maps = attention_patterns(model, torch.tensor([ids], device=device))
    arr = torch.stack([m[0] for m in maps]).float().cpu().numpy()
    return arr, tokenizer.token_strings(ids)


def save_maps(path: str | Path, maps: np.ndarray, tokens: list[str], keys: list[str] | None = None) -> None:
    """(layers, heads, queries, keys) weights as .npy (tokens beside it in .tokens.json: a list, or
    {"query", "key"} when `keys` differ from `tokens`) or a long-format .csv."""
    path = Path(path)
    if path.suffix == ".npy":
        np.save(path, maps)
        named = tokens if keys is None else {"query": tokens, "key": keys}
        path.with_suffix(".tokens.json").write_text(json.dumps(named, ensure_ascii=False))
    elif path.suffix == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["layer", "head", "query_index", "query_token", "key_index", "key_token", "weight"])
            L, H, T, S = maps.shape
            causal = keys is None and not np.triu(maps, 1).any()  # an encoder's queries also see later keys
            keys = tokens if keys is None else keys
            for layer in range(L):
                for head in range(H):
                    for q in range(T):
                        for k in range(q + 1 if causal else S):
                            w.writerow([layer, head, q, tokens[q], k, keys[k], f"{maps[layer, head, q, k]:.6g}"])
    else:
        raise UserError(f"--out must end in .npy or .csv, got {path.name}")


def seq2seq_attention(model, tokenizer, text: str, max_len: int = 64) -> tuple[dict[str, np.ndarray], list, list]:
    """An encoder-decoder's three attention stacks for `text` as the source and the target it writes
    greedily: ({"encoder", "decoder", "cross"} float32 arrays, source tokens, target tokens)."""
    eos, pad = special_id(tokenizer, EOS_NAMES), special_id(tokenizer, PAD_NAMES)
    src = tokenizer.encode(text)[: model.config.block_size - 1]
    if not src:
        raise UserError("the text is empty after tokenization: type a source to translate")
    src.append(eos)
    device = next(model.parameters()).device
    s = torch.tensor([src], device=device)
    target = greedy_batch(model, s, torch.tensor([len(src)], device=device), max_len=max_len, start=pad, eos=eos)[0]
    maps = seq2seq_patterns(model, src, [pad] + target)
    return ({k: v.astype(np.float32) for k, v in maps.items()}, tokenizer.token_strings(src),
            tokenizer.token_strings(target))


def seq2seq_stack(model, tokenizer, text: str, stack: str, max_len: int = 64
                  ) -> tuple[np.ndarray, list[str], list[str]]:
    """One stack of an encoder-decoder's attention for `text` as the source and the target it writes
    greedily: (layers, heads, queries, keys) weights, the query tokens and the key tokens. The decoder's
    row i writes target token i (the last writes the end token) after reading the start token and the
    target so far, as the Inspect page labels them."""
    if stack not in STACKS:
        raise UserError(f"--stack {stack!r} is not one of {', '.join(STACKS)}")
    stacks, source, target = seq2seq_attention(model, tokenizer, text, max_len=max_len)
    start, end = (tokenizer.token_strings([special_id(tokenizer, names)])[0] for names in (PAD_NAMES, EOS_NAMES))
    writes = [*target, end]
    queries, keys = {"encoder": (source, source), "decoder": (writes, [start, *target]),
                     "cross": (writes, source)}[stack]
    return stacks[stack], queries, keys
