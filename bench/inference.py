"""Generation with the KV cache against a loop without it (256 new tokens), and the latency of the
attention view for a GPT-2-small sized model on a 256-token text. Prints JSON lines:
    python bench/inference.py [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from engine.infer.generate import SamplingOptions, stream  # noqa: E402
from engine.model.gpt import GPT, GPTConfig  # noqa: E402
from engine.model.hooks import attention_patterns  # noqa: E402


def tokens_per_s(model, prompt, new_tokens, use_cache, device) -> float:
    opts = SamplingOptions(max_new_tokens=new_tokens, temperature=0, use_cache=use_cache)
    t = time.perf_counter()
    n = sum(1 for _ in stream(model, prompt, opts, device=device))
    return n / (time.perf_counter() - t)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--new-tokens", type=int, default=256)
    a = p.parse_args()
    torch.manual_seed(0)
    prompt = list(range(16))
    sizes = {"6 layers, width 384, vocabulary 8192": dict(vocab_size=8192, n_layer=6, n_head=6, n_embd=384),
             "GPT-2 small sized (124M)": dict(vocab_size=50257, n_layer=12, n_head=12, n_embd=768)}
    for name, size in sizes.items():
        gen = GPT(GPTConfig(block_size=1024, **size)).to(a.device).eval()
        tokens_per_s(gen, prompt, 8, True, a.device)  # warm-up
        cached = tokens_per_s(gen, prompt, a.new_tokens, True, a.device)
        uncached = tokens_per_s(gen, prompt, a.new_tokens, False, a.device)
        print(json.dumps({"model": name, "prompt_tokens": len(prompt), "new_tokens": a.new_tokens,
                          "kv_cache_tokens_per_s": round(cached, 1), "no_cache_tokens_per_s": round(uncached, 1),
                          "kv_cache_speedup": round(cached / uncached, 2), "device": a.device}), flush=True)
    big = gen
    idx = torch.randint(0, 50257, (1, 256), device=a.device)
    times = []
    with torch.no_grad():
        for _ in range(4):
            t = time.perf_counter()
            _, maps = attention_patterns(big, idx)
            torch.stack([m[0] for m in maps]).float().cpu().numpy()
            times.append(time.perf_counter() - t)
    print(json.dumps({"model": "GPT-2 small sized (124M)", "text_tokens": 256,
                      "attention_view_seconds_median": round(statistics.median(times[1:]), 3),
                      "threads": torch.get_num_threads(), "device": a.device}))


if __name__ == "__main__":
    main()
