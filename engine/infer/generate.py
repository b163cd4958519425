"""Text generation with a KV cache: greedy, temperature, top-k, top-p, repetition penalty, beams, stops."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch.nn import functional as F

from engine.infer.grad_free import needs_no_grad
from engine.model.gpt import GPT, KVCache


@dataclass
class SamplingOptions:
    max_new_tokens: int = 200
    temperature: float = 1.0
    """0 means greedy."""
    top_k: int = 0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    use_cache: bool = True
    banned: list[int] = field(default_factory=list)
    """Token ids never to generate (unknown-token markers, vocabulary padding)."""


SHIFT = 4
"""When a text outgrows the context, its oldest 1/SHIFT is dropped and the rest read again in one pass,
then the cache fills again: each token sees at least 3/4 of a context, and a context is read whole once
every block/4 + 1 tokens instead of once a token (llama.cpp shifts its context the same way)."""


@dataclass
class GeneratedToken:
    id: int
    prob: float
    alternatives: list[tuple[int, float]]
    """The most likely tokens at this position with their probabilities."""


def adjust_logits(logits: torch.Tensor, history: torch.Tensor, opts: SamplingOptions) -> torch.Tensor:
    """Apply repetition penalty, temperature, top-k and top-p to (B, V) logits."""
    logits = logits.float().clone()
    if opts.banned:
        logits[:, opts.banned] = float("-inf")
    if opts.repetition_penalty != 1.0 and history.numel():
        seen = logits.gather(1, history)
        seen = torch.where(seen > 0, seen / opts.repetition_penalty, seen * opts.repetition_penalty)
        logits.scatter_(1, history, seen)
    if opts.temperature > 0:
        logits = logits / opts.temperature
    if opts.top_k > 0:
        k = min(opts.top_k, logits.size(-1))
        kth = torch.topk(logits, k).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if 0 < opts.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True)
        cum = torch.softmax(sorted_logits, dim=-1).cumsum(-1)
        drop = cum - torch.softmax(sorted_logits, dim=-1) > opts.top_p  # keep the token that crosses top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(1, order, sorted_logits)
    return logits


def stream(model: GPT, prompt_ids: list[int], opts: SamplingOptions, *, device: torch.device | str = "cpu",
           n_alternatives: int = 5, should_stop: Callable[[], bool] | None = None) -> Iterator[GeneratedToken]:
    """Yield generated tokens one at a time (batch of one); `n_alternatives` = 0 leaves out the
    probabilities (prob is then nan), which the Playground shows and a training sample does not need.
    Inference mode (10% faster a token than no_grad on small models) where the model allows it
    (engine/infer/grad_free.py)."""
    run = _stream_no_grad if needs_no_grad(model) else _stream_inference
    return run(model, prompt_ids, opts, device, n_alternatives, should_stop)


def _stream(model, prompt_ids, opts, device, n_alternatives, should_stop) -> Iterator[GeneratedToken]:
    model.eval()
    block = model.config.block_size
    gen = torch.Generator(device=device)
    gen.manual_seed(opts.seed if opts.seed is not None else torch.seed())
    ids = torch.tensor([prompt_ids or [0]], dtype=torch.long, device=device)
    start = max(0, ids.size(1) - block)  # the context: ids[start:], at most `block` tokens
    cache = KVCache(model.config.n_layer) if opts.use_cache else None
    logits = _last_logits(model, ids[:, start:], cache)
    for _ in range(opts.max_new_tokens):
        if should_stop is not None and should_stop():
            return
        adjusted = adjust_logits(logits, ids[:, -256:], opts)
        if opts.temperature <= 0:
            next_id = adjusted.argmax(-1, keepdim=True)
        else:
            next_id = torch.multinomial(torch.softmax(adjusted, dim=-1), 1, generator=gen)
        token = int(next_id)
        if n_alternatives > 0:
            probs = torch.softmax(logits.float(), dim=-1)[0]
            top = torch.topk(probs, min(n_alternatives, probs.size(-1)))
            yield GeneratedToken(token, float(probs[token]),
                                 [(int(i), float(p)) for p, i in zip(top.values, top.indices)])
        else:
            yield GeneratedToken(token, float("nan"), [])
        ids = torch.cat([ids, next_id], dim=1)
        if ids.size(1) - start > block:  # the context is full: shift it (SHIFT) and read it again
            start = ids.size(1) - (block - max(1, block // SHIFT))
            cache = KVCache(model.config.n_layer) if opts.use_cache else None
            logits = _last_logits(model, ids[:, start:], cache)
        elif cache is not None:
            logits = model(next_id, cache=cache)[0][:, -1, :]
        else:
            logits = _last_logits(model, ids[:, start:], None)


_stream_inference = torch.inference_mode()(_stream)
_stream_no_grad = torch.no_grad()(_stream)


def _last_logits(model: GPT, ids: torch.Tensor, cache: KVCache | None) -> torch.Tensor:
    return model(ids, cache=cache)[0][:, -1, :]


@torch.no_grad()
def greedy_continuations(model: GPT, prompts: list[list[int]], *, eos: int, banned: list[int] | None = None,
                         device: torch.device | str = "cpu", rows: int = 64) -> list[list[int]]:
    """Each prompt's greedy continuation up to `eos` (left out) or the end of the context, the same tokens
    `stream` gives at temperature 0 one prompt at a time. Prompts of one length share a batch and its cache,
    so nothing is padded (evaluation of an instruct run writes 64 responses at every evaluation)."""
    model.eval()
    block = model.config.block_size
    out: list[list[int]] = [[] for _ in prompts]
    by_length: dict[int, list[int]] = {}
    for i, p in enumerate(prompts):
        by_length.setdefault(len(p[-(block - 1):]), []).append(i)
    for length, members in by_length.items():
        for first in range(0, len(members), rows):
            group = members[first: first + rows]
            ids = torch.tensor([prompts[i][-length:] for i in group], dtype=torch.long, device=device)
            for i, row in zip(group, _greedy_rows(model, ids, block - length, eos, banned or [])):
                out[i] = row
    return out


def _greedy_rows(model: GPT, ids: torch.Tensor, steps: int, eos: int, banned: list[int]) -> list[list[int]]:
    cache = KVCache(model.config.n_layer)
    logits = model(ids, cache=cache)[0][:, -1, :]
    written, done = [], torch.zeros(ids.size(0), dtype=torch.bool, device=ids.device)
    for step in range(steps):
        logits = logits.float()
        logits[:, banned] = float("-inf")
        nxt = torch.where(done, eos, logits.argmax(-1))
        written.append(nxt)
        done |= nxt == eos
        if bool(done.all()) or step == steps - 1:
            break
        logits = model(nxt[:, None], cache=cache)[0][:, -1, :]
    rows = torch.stack(written, 1).tolist()  # steps >= 1: a prompt leaves at least one place in the context
    return [row[: row.index(eos)] if eos in row else row for row in rows]


def generate_text(model: GPT, tokenizer, prompt: str, opts: SamplingOptions, *, device="cpu") -> str:
    """The continuation of `prompt` as text, cut at the first stop string."""
    out: list[int] = []
    text = ""
    opts.banned = opts.banned or banned_ids(model, tokenizer)
    for tok in stream(model, tokenizer.encode(prompt), opts, device=device, n_alternatives=0):
        out.append(tok.id)
        if opts.stop:
            text = tokenizer.decode(out)
            if any(s in text for s in opts.stop):
                break
    text = tokenizer.decode(out)
    for s in opts.stop:
        if s in text:
            text = text[: text.index(s)]
    return text


def banned_ids(model: GPT, tokenizer) -> list[int]:
    """Ids a model should never emit: the unknown token and rows that pad the vocabulary."""
    ids = list(range(tokenizer.vocab_size, model.config.vocab_size))
    for special in ("<unk>", "[UNK]", "[PAD]"):
        i = tokenizer.token_id(special)
        if i is not None:
            ids.append(i)
    return ids


@torch.no_grad()
def beam_search(model: GPT, prompt_ids: list[int], *, beams: int = 4, max_new_tokens: int = 50,
                length_penalty: float = 1.0, device="cpu", should_stop: Callable[[], bool] | None = None) -> list[int]:
    """The most likely continuation by beam search (scores are summed log-probabilities); `should_stop()`
    true ends it early with the best so far."""
    model.eval()
    block = model.config.block_size
    ids = torch.tensor([prompt_ids or [0]], dtype=torch.long, device=device)[:, -block:]
    scores = torch.zeros(1, device=device)
    seqs = ids
    for _ in range(max_new_tokens):
        if should_stop is not None and should_stop():
            break
        logits = model(seqs[:, -block:])[0][:, -1, :]
        logp = F.log_softmax(logits.float(), dim=-1) + scores[:, None]  # (beams, V)
        flat = logp.view(-1)
        best = torch.topk(flat, beams)
        rows = best.indices // logits.size(-1)
        cols = best.indices % logits.size(-1)
        seqs = torch.cat([seqs[rows], cols[:, None]], dim=1)
        scores = best.values
    n_new = max(1, seqs.size(1) - ids.size(1))
    best_row = int(torch.argmax(scores / (n_new ** length_penalty)))
    return seqs[best_row, ids.size(1):].tolist()
