"""A nanoGPT-style training loop, written for comparison: the same model and numerics as the engine,
with nanoGPT's habits around it (a new np.memmap per batch, rows stacked one by one, foreach AdamW,
glibc's default allocator behaviour, the loss read back every 10 iterations).

    python bench/reference_loop.py TOKENS.bin --steps 300   -> prints the median step time as JSON
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.model.gpt import GPT, GPTConfig  # noqa: E402
from engine.train.schedule import learning_rate  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("tokens")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--n-layer", type=int, default=4)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-embd", type=int, default=128)
    p.add_argument("--block-size", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=12)
    p.add_argument("--vocab", type=int, default=65)
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1337)
    cfg = GPTConfig(vocab_size=a.vocab, block_size=a.block_size, n_layer=a.n_layer, n_head=a.n_head,
                    n_embd=a.n_embd)
    model = GPT(cfg)
    opt = torch.optim.AdamW(model.param_groups(0.1), lr=1e-3, betas=(0.9, 0.99))
    T, B = a.block_size, a.batch_size

    def get_batch():
        data = np.memmap(a.tokens, dtype=np.uint16, mode="r")  # nanoGPT re-opens it every batch
        ix = torch.randint(len(data) - T, (B,))
        x = torch.stack([torch.from_numpy(data[i:i + T].astype(np.int64)) for i in ix])
        y = torch.stack([torch.from_numpy(data[i + 1:i + 1 + T].astype(np.int64)) for i in ix])
        return x, y

    times = []
    x, y = get_batch()
    for it in range(a.steps):
        t = time.perf_counter()
        for g in opt.param_groups:
            g["lr"] = learning_rate(it, lr=1e-3, min_lr=1e-4, warmup_steps=100, max_steps=2000)
        _, loss = model(x, y)
        x, y = get_batch()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if it % 10 == 0:
            loss.item()
        times.append(time.perf_counter() - t)
    print(json.dumps({"step_s": statistics.median(times[len(times) // 4:]), "loss": loss.item()}))


if __name__ == "__main__":
    main()
