"""Muon's Newton-Schulz iterations stacked by shape against one matrix at a time (engine/train/muon.py), on CPU.

Two processes, taking turns (lockstep.py), each step a Muon optimizer over a recipe's model: one orthogonalizes
the matrices of one shape as one stack (`orthogonalize_stacked`, what the engine does), the other each matrix on
its own (`orthogonalize_each`). By default only the optimizer's step is timed, on fixed random gradients; with
--whole the engine's whole training step (forward, backward, clipping, the step) on synthetic tokens. Prints each
contender's median and the ratio stacked / each (below 1: stacking is faster):
    python bench/muon_step.py [--recipe baby] [--rounds 20] [--threads 2] [--whole] [--dtype float32]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BLOCK = {"baby": 20, "medium": 3}
"""Steps per turn: about a second of work (an optimizer step alone is shorter: more of them)."""


def use(kind: str, dtype: str) -> None:
    """The contender's form of the iteration, and its dtype where one is forced (default: the machine's)."""
    import torch

    from engine.train import muon

    muon.Muon.orthogonal_steps = staticmethod(
        muon.orthogonalize_stacked if kind == "stacked" else muon.orthogonalize_each)
    if dtype != "auto":
        muon.iteration_dtype = lambda device: getattr(torch, dtype)


def optimizer_in_turns(recipe: str, threads: int, block: int) -> None:
    """A contender timing Muon's step alone: the model's gradients are random and fixed."""
    sys.path.insert(0, str(HERE))
    import torch
    from common import RECIPES
    from lockstep import BlockTimer, Turn

    from engine.model.gpt import GPT, GPTConfig
    from engine.train.muon import Muon, muon_groups

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    r = RECIPES[recipe]
    model = GPT(GPTConfig(vocab_size=r["vocab"], **r["model"]))
    opt = Muon(muon_groups(model, 0.1), lr=1e-3, betas=(0.9, 0.99))
    for p in model.parameters():
        p.grad = torch.randn_like(p) * 1e-3
    timer = BlockTimer(Turn.from_env(), block * 3)
    timer.start()
    while True:
        opt.step()
        if not timer.tick():
            break
    timer.turn.finish({"step_s": statistics.median(timer.times), "steps_timed": len(timer.times)})


def trainer_in_turns(recipe: str, threads: int, block: int) -> None:
    """A contender timing the engine's whole training step with Muon."""
    sys.path.insert(0, str(HERE))
    from common import RECIPES, recipe_config, synthetic_corpus, temp_dir, train_in_turns

    tmp = temp_dir()
    corpus = synthetic_corpus(RECIPES[recipe]["vocab"], 300_000, tmp)
    cfg = recipe_config(recipe, steps=10**7, device="cpu", out_dir=str(tmp / "run"), threads=threads, lr=3e-3,
                        min_lr=3e-4, optimizer="muon", compile="off", checkpoint_interval=10**7)
    train_in_turns(cfg, corpus, block)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipe", default="baby", choices=sorted(BLOCK))
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--whole", action="store_true", help="time the whole training step, not the optimizer's alone")
    ap.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16"],
                    help="the iteration's dtype (auto: the engine's choice for this CPU, engine/train/muon.py)")
    ap.add_argument("--contender", choices=["stacked", "each"])
    a = ap.parse_args()
    sys.path.insert(0, str(HERE.parent))
    if a.contender:
        use(a.contender, a.dtype)
        return (trainer_in_turns if a.whole else optimizer_in_turns)(a.recipe, a.threads, BLOCK[a.recipe])
    sys.path.insert(0, str(HERE))
    from common import contenders_in_turns

    argv = [str(Path(__file__).resolve()), "--recipe", a.recipe, "--threads", str(a.threads), "--dtype", a.dtype,
            *(["--whole"] if a.whole else []), "--contender"]
    r = contenders_in_turns(argv, ("stacked", "each"), a.rounds)
    print(json.dumps({"recipe": a.recipe, "timed": "training step" if a.whole else "optimizer step", "dtype": a.dtype,
                      "stacked_ms": round(1000 * r["stacked"]["step_s"], 2),
                      "each_ms": round(1000 * r["each"]["step_s"], 2),
                      "ratio stacked / each": round(r["stacked"]["step_s"] / r["each"]["step_s"], 3)}))


if __name__ == "__main__":
    main()
