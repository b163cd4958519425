"""Writing a target for a source with an encoder-decoder: the encoder reads the source once; the
decoder starts from [PAD] (T5's start token) and adds a token at a time until <eos>. Greedy for
whole batches (evaluation), streaming with every sampling option, and beam search."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch.nn import functional as F

from engine.infer.generate import GeneratedToken, SamplingOptions, adjust_logits


def source_tensor(src_ids: list[int], eos: int, block_size: int, device) -> torch.Tensor:
    """(1, S): the source as the model was trained on it (cut to the context, ending with <eos>)."""
    return torch.tensor([[*src_ids[: block_size - 1], eos]], dtype=torch.long, device=device)


@torch.no_grad()
def greedy_batch(model, src: torch.Tensor, src_lengths: torch.Tensor, *, max_len: int, start: int,
                 eos: int) -> list[list[int]]:
    """The most likely target of each source row, without its <eos>."""
    memory, mask = model.encode(src, src_lengths)
    out = torch.full((src.size(0), 1), start, dtype=torch.long, device=src.device)
    done = torch.zeros(src.size(0), dtype=torch.bool, device=src.device)
    for _ in range(max_len):
        nxt = model.decode(out, memory, mask)[:, -1].argmax(-1)
        nxt = torch.where(done, torch.full_like(nxt, eos), nxt)
        out = torch.cat([out, nxt[:, None]], dim=1)
        done |= nxt == eos
        if bool(done.all()):
            break
    rows = []
    for row in out[:, 1:].tolist():
        rows.append(row[: row.index(eos)] if eos in row else row)
    return rows


@torch.no_grad()
def stream_target(model, src_ids: list[int], opts: SamplingOptions, *, start: int, eos: int, device="cpu",
                  n_alternatives: int = 5, should_stop: Callable[[], bool] | None = None
                  ) -> Iterator[GeneratedToken]:
    """Yield the target's tokens one at a time (the <eos> that ends it is not yielded)."""
    model.eval()
    gen = torch.Generator(device=device)
    gen.manual_seed(opts.seed if opts.seed is not None else torch.seed())
    memory, mask = model.encode(source_tensor(src_ids, eos, model.config.block_size, device))
    out = torch.tensor([[start]], dtype=torch.long, device=device)
    for _ in range(opts.max_new_tokens):
        if should_stop is not None and should_stop():
            return
        logits = model.decode(out, memory, mask)[:, -1]
        probs = torch.softmax(logits.float(), dim=-1)
        adjusted = adjust_logits(logits, out[:, 1:], opts)
        if opts.temperature <= 0:
            nxt = adjusted.argmax(-1, keepdim=True)
        else:
            nxt = torch.multinomial(torch.softmax(adjusted, dim=-1), 1, generator=gen)
        token = int(nxt)
        if token == eos:
            return
        top = torch.topk(probs[0], min(n_alternatives, probs.size(-1)))
        yield GeneratedToken(token, float(probs[0, token]), [(int(i), float(p)) for p, i in zip(top.values,
                                                                                              top.indices)])
        out = torch.cat([out, nxt], dim=1)


@torch.no_grad()
def beam_target(model, src_ids: list[int], *, start: int, eos: int, beams: int = 4, max_new_tokens: int = 50,
                length_penalty: float = 1.0, banned: list[int] | None = None, device="cpu",
                should_stop: Callable[[], bool] | None = None) -> list[int]:
    """The most likely target by beam search; a beam that writes <eos> is finished and scored by its
    summed log-probability over its length ** length_penalty."""
    model.eval()
    memory, mask = model.encode(source_tensor(src_ids, eos, model.config.block_size, device))
    seqs = torch.tensor([[start]], dtype=torch.long, device=device)
    scores = torch.zeros(1, device=device)
    finished: list[tuple[float, list[int]]] = []
    for step in range(1, max_new_tokens + 1):
        if should_stop is not None and should_stop():
            break
        logits = model.decode(seqs, memory.expand(len(seqs), -1, -1), mask)[:, -1].float()
        if banned:
            logits[:, banned] = float("-inf")
        logp = F.log_softmax(logits, dim=-1) + scores[:, None]
        best = torch.topk(logp.view(-1), min(2 * beams, logp.numel()))
        rows, cols = best.indices // logits.size(-1), best.indices % logits.size(-1)
        keep = []
        for score, row, col in zip(best.values.tolist(), rows.tolist(), cols.tolist()):
            if col == eos:
                finished.append((score / step ** length_penalty, seqs[row, 1:].tolist()))
            elif len(keep) < beams:
                keep.append((row, col, score))
        if not keep or len(finished) >= beams and max(f[0] for f in finished) >= max(s for *_, s in keep) / \
                step ** length_penalty:
            break
        seqs = torch.cat([seqs[[r for r, _, _ in keep]], torch.tensor([[c] for _, c, _ in keep], device=device)], 1)
        scores = torch.tensor([s for *_, s in keep], device=device)
    if not finished:
        finished = [(float(scores[0]), seqs[0, 1:].tolist())]
    return max(finished, key=lambda f: f[0])[1]
