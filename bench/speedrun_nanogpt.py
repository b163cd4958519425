"""nanoGPT's baby-Shakespeare recipe as its train.py runs it, until the validation loss reaches a target.

nanoGPT's model (bench/nanogpt_model.py) and habits: AdamW (betas 0.9/0.99, decay 0.1 on matrices), lr
1e-3 warmed up over 100 steps and cosine-decayed to 1e-4 at step 2000 (then held there, as train.py does
when max_iters passes lr_decay_iters), clipping at 1, batch 12 x 64. It reads the engine's own split
(the .npy files bench/speedrun.py writes) and evaluates both splits every `--eval-interval` steps on
the engine's fixed windows, so both contenders are judged on the same tokens. Prints one JSON line, with the
wall-clock time (time.time()) of each evaluation's end. `--target 0` runs the whole recipe, `--max-steps` steps
ending with an evaluation (bench/speedrun.py --suite: nanoGPT's whole run, 2000 steps).

    python bench/speedrun_nanogpt.py DATA_DIR --target 1.886
    python bench/speedrun_nanogpt.py DATA_DIR --target 0 --max-steps 2000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nanogpt_model import NanoGPT  # noqa: E402

from engine.data.batches import eval_starts  # noqa: E402
from engine.train.schedule import learning_rate  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("data")
    p.add_argument("--target", type=float, default=1.886)
    p.add_argument("--eval-interval", type=int, default=250)
    p.add_argument("--eval-batches", type=int, default=20)
    p.add_argument("--max-steps", type=int, default=8000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1337)
    a = p.parse_args()
    t_start = time.monotonic()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train = np.load(Path(a.data) / "train.npy")
    val = np.load(Path(a.data) / "val.npy")
    vocab = int(max(train.max(), val.max())) + 1
    T, B = 64, 12
    model = NanoGPT(vocab, T, 4, 4, 128)
    opt = torch.optim.AdamW(model.param_groups(0.1), lr=1e-3, betas=(0.9, 0.99))
    offsets = np.arange(T + 1)

    def rows(tokens, starts):
        r = torch.from_numpy(tokens[starts[:, None] + offsets].astype(np.int64))
        return r[:, :-1].contiguous(), r[:, 1:].contiguous()  # (as nanoGPT's torch.stack gives)

    fixed = {name: eval_starts(len(tok), T, a.eval_batches, B, seed=a.seed + (1 if name == "val" else 2))
             for name, tok in (("val", val), ("train", train))}

    @torch.no_grad()
    def evaluate(name, tokens):
        model.eval()
        out = float(np.mean([model(*rows(tokens, s))[1].item() for s in fixed[name]]))
        model.train()
        return out

    rng = np.random.default_rng(a.seed)
    curve, eval_times = [], []
    for it in range(a.max_steps + 1):
        if it % a.eval_interval == 0 or it == a.max_steps:
            v, _ = evaluate("val", val), evaluate("train", train)  # nanoGPT's estimate_loss: both splits
            curve.append((it, round(v, 4)))
            eval_times.append(time.time())
            if v <= a.target or it == a.max_steps:
                break
        for g in opt.param_groups:
            g["lr"] = learning_rate(it, lr=1e-3, min_lr=1e-4, warmup_steps=100, max_steps=2000)
        ix = rng.integers(0, len(train) - T, size=B)
        _, loss = model(*rows(train, ix))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    print(json.dumps({"contender": "nanoGPT baby recipe", "reached": curve[-1][1] <= a.target, "step": curve[-1][0],
                      "val_loss": curve[-1][1], "seconds_in_process": round(time.monotonic() - t_start, 2),
                      "curve": curve, "eval_times": eval_times}))


if __name__ == "__main__":
    main()
