"""The output layer's loss whole against in slices (engine/model/linear_loss.py), on CPU.

Two engine processes train the same GPT-2-small shape (12 x 768, context 1024, vocabulary 50,257,
batch 2) on synthetic tokens, taking turns (lockstep.py); one computes all the logits at once, as the
engine did before, the other slice by slice. Prints each one's median step, its peak memory above what
the process held before the model was built, and the ratios:
    python bench/output_loss.py [--rounds 4] [--threads 2] [--batch 2]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def contender(whole: bool, threads: int, batch: int) -> None:
    sys.path.insert(0, str(HERE))
    from common import recipe_config, synthetic_corpus, temp_dir, train_in_turns

    from engine.model import linear_loss

    if whole:
        linear_loss.MIN_LOGIT_BYTES = float("inf")
    tmp = temp_dir()
    corpus = synthetic_corpus(50257, 2_000_000, tmp)
    cfg = recipe_config("gpt2-small", steps=10**6, device="cpu", out_dir=str(tmp / "run"), threads=threads,
                        batch_size=batch, compile="off", checkpoint_interval=10**6)
    train_in_turns(cfg, corpus, block=2, report=lambda trainer: {"peak_memory": trainer.memory.peak()})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--contender", choices=["whole", "sliced"])
    a = ap.parse_args()
    if a.contender:
        return contender(a.contender == "whole", a.threads, a.batch)
    sys.path.insert(0, str(HERE))
    from common import contenders_in_turns

    argv = [str(Path(__file__).resolve()), "--threads", str(a.threads), "--batch", str(a.batch), "--contender"]
    r = contenders_in_turns(argv, ("whole", "sliced"), a.rounds)
    whole, sliced = r["whole"], r["sliced"]
    print(json.dumps({"shape": f"GPT-2 small, batch {a.batch} x 1024, {a.threads} threads",
                      "speed-up (whole / sliced step)": round(whole["step_s"] / sliced["step_s"], 3),
                      "memory (sliced / whole peak)": round(sliced["peak_memory"] / whole["peak_memory"], 3)}))


if __name__ == "__main__":
    main()
