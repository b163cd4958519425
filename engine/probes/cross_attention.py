"""An encoder-decoder's attention, read through its hook points: the encoder's and the decoder's
self-attention and the decoder's cross-attention (target tokens x source tokens), per layer and head;
and the word alignment that cross-attention implies."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from engine.core.tomlio import write_atomic
from engine.model.hooks import hook_points, run_with_cache


def seq2seq_patterns(model, src_ids: list[int], tgt_in: list[int]) -> dict[str, np.ndarray]:
    """{"encoder": (L, nh, S, S), "decoder": (L, nh, T, T), "cross": (L, nh, T, S)} for one pair; `tgt_in`
    is what the decoder reads (the start token, then the target)."""
    names = hook_points(model)
    wanted = {stack: sorted((n for n in names if n.startswith(prefix) and n.endswith(suffix)),
                            key=lambda n: int(n.split(".")[2]))
              for stack, prefix, suffix in (("encoder", "encoder.h.", ".attn.hook_pattern"),
                                            ("decoder", "decoder.h.", ".attn.hook_pattern"),
                                            ("cross", "decoder.h.", ".cross_attn.hook_pattern"))}
    wanted["decoder"] = [n for n in wanted["decoder"] if ".cross_attn." not in n]
    device = next(model.parameters()).device
    _, seen = run_with_cache(model, torch.tensor([src_ids], device=device), torch.tensor([tgt_in], device=device),
                             names=[n for ns in wanted.values() for n in ns])
    return {stack: torch.stack([seen[n][0].float().cpu() for n in ns]).numpy() for stack, ns in wanted.items()}


def save_recorded(folder: Path, step: int, maps: dict[str, np.ndarray], source: list[str], target: list[str]) -> Path:
    """attention/step-NNNNNN.npz with the three stacks (float16), and the pair's tokens once in tokens.json
    ({"source", "target"}: the decoder's rows write target + <eos>)."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "tokens.json").exists():
        write_atomic(folder / "tokens.json", json.dumps({"source": source, "target": target}, ensure_ascii=False))
    path = folder / f"step-{step:06d}.npz"
    tmp = folder / f".step-{step:06d}.tmp.npz"
    np.savez(tmp, **{k: v.astype(np.float16) for k, v in maps.items()})
    os.replace(tmp, path)
    return path


def word_starts(tokens: list[str]) -> list[int]:
    """The word each token belongs to: a token beginning with a space (or the first) starts a word."""
    out, word = [], -1
    for i, t in enumerate(tokens):
        if i == 0 or t[:1].isspace() or t in ("Ġ", "▁"):
            word += 1
        out.append(max(word, 0))
    return out


def aligned_words(cross: np.ndarray, src_words: list[int], tgt_words: list[int]) -> list[int]:
    """For each target word, the source word its tokens attend to most: `cross` (T, S) averaged over the
    word's target tokens, summed over each source word's tokens."""
    src_words, tgt_words = np.asarray(src_words), np.asarray(tgt_words)
    n_src = int(src_words.max()) + 1 if len(src_words) else 0
    out = []
    for w in range(int(tgt_words.max()) + 1 if len(tgt_words) else 0):
        row = cross[tgt_words == w].mean(0)
        out.append(int(np.argmax(np.bincount(src_words, weights=row, minlength=n_src))))
    return out
