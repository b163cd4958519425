"""A nanoGPT-style training loop, written for comparison: nanoGPT's model (bench/nanogpt_model.py, the
same numerics as the engine's) with nanoGPT's habits around it (a new np.memmap per batch, rows
stacked one by one, foreach AdamW, glibc's allocator, the loss read back every 10 iterations).

    python bench/reference_loop.py TOKENS.bin --steps 300   -> prints the median step time as JSON

Started by bench/cpu.py, it runs in turns with the engine (bench/lockstep.py) until told to stop.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lockstep import BlockTimer, Turn  # noqa: E402
from nanogpt_model import NanoGPT  # noqa: E402

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
    p.add_argument("--block", type=int, default=25, help="steps per turn when run in turns")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1337)
    model = NanoGPT(a.vocab, a.block_size, a.n_layer, a.n_head, a.n_embd)
    opt = torch.optim.AdamW(model.param_groups(0.1), lr=1e-3, betas=(0.9, 0.99))
    T, B = a.block_size, a.batch_size

    def get_batch():
        data = np.memmap(a.tokens, dtype=np.uint16, mode="r")  # nanoGPT re-opens it every batch
        ix = torch.randint(len(data) - T, (B,))
        x = torch.stack([torch.from_numpy(data[i:i + T].astype(np.int64)) for i in ix])
        y = torch.stack([torch.from_numpy(data[i + 1:i + 1 + T].astype(np.int64)) for i in ix])
        return x, y

    turn = Turn.from_env()
    timer = BlockTimer(turn, a.block if turn else max(1, a.steps // 4))
    x, y = get_batch()
    it = 0
    timer.start()
    while turn is not None or it < a.steps:
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
        it += 1
        if not timer.tick():
            break
    result = {"step_s": statistics.median(timer.times), "steps_timed": len(timer.times), "loss": loss.item()}
    if turn is not None:
        turn.finish(result)
    else:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
