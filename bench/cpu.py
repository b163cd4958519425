"""CPU throughput of the engine against a nanoGPT-style loop, and MFU against this machine's matmul peak.

The contenders are separate processes run in turns (bench/lockstep.py): each runs a block of steps
while the others sleep, round after round, so the minute-to-minute drift of a shared machine hits all
of them alike; each figure is a median over the interleaved steps. Prints JSON lines and the ratios:
    python bench/cpu.py [--recipes baby,medium] [--rounds 30] [--threads 2] [--compiled]
With --compiled the engine also runs with train.compile = "on" (its first turn compiles, about a
minute the first time for a model, then cached; only later turns are timed, as for every contender).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
BLOCK = {"baby": 25, "medium": 3}
"""Steps per turn: about a second of work."""


def engine_in_turns(recipe: str, threads: int, compile: str, block: int) -> None:
    """A contender: the engine's Trainer with a listener that times step events and takes turns."""
    sys.path.insert(0, str(HERE))
    from common import recipe_config, synthetic_corpus, temp_dir, train_in_turns

    tmp = temp_dir()
    corpus = synthetic_corpus(65, 300_000, tmp)
    cfg = recipe_config(recipe, steps=10**7, device="cpu", out_dir=str(tmp / "run"), threads=threads, lr=1e-3,
                        min_lr=1e-4, warmup_steps=100, beta2=0.99, compile=compile)
    train_in_turns(cfg, corpus, block, report=lambda trainer: {"flops_per_token": trainer.flops_per_token})


def matmul_peak(threads: int) -> float:
    import torch

    torch.set_num_threads(threads)
    best = 0.0
    for n in (1024, 2048, 4096):
        a, b = torch.randn(n, n), torch.randn(n, n)
        a @ b
        for _ in range(3):
            t = time.perf_counter()
            a @ b
            best = max(best, 2 * n**3 / (time.perf_counter() - t))
    return best


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipes", default="baby,medium")
    p.add_argument("--rounds", type=int, default=30, help="turns per contender (after one warm-up turn)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--compiled", action="store_true", help="also time the engine with torch.compile")
    p.add_argument("--engine-in-turns", help=argparse.SUPPRESS)
    p.add_argument("--compile-mode", default="off", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.engine_in_turns:
        engine_in_turns(a.engine_in_turns, a.threads, a.compile_mode, BLOCK[a.engine_in_turns])
        return
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent))
    from common import RECIPES
    from lockstep import run_in_turns

    from engine.launch.allocator import training_env

    tokens = HERE.parent / "build" / "bench-tokens65.bin"
    tokens.parent.mkdir(exist_ok=True)
    np.random.default_rng(0).integers(0, 65, 300_000, dtype=np.uint16).tofile(tokens)
    peak = matmul_peak(a.threads)
    print(json.dumps({"cpu_fp32_matmul_peak_gflops": round(peak / 1e9, 1), "threads": a.threads}), flush=True)
    for recipe in a.recipes.split(","):
        m, t = RECIPES[recipe]["model"], RECIPES[recipe]["train"]
        block = str(BLOCK[recipe])
        contenders = {
            "reference": [str(HERE / "reference_loop.py"), str(tokens), "--n-layer", str(m["n_layer"]),
                          "--n-head", str(m["n_head"]), "--n-embd", str(m["n_embd"]), "--block-size",
                          str(m["block_size"]), "--batch-size", str(t["batch_size"]), "--threads", str(a.threads),
                          "--block", block],
            "engine": [str(HERE / "cpu.py"), "--engine-in-turns", recipe, "--threads", str(a.threads)],
        }
        if a.compiled:
            contenders["compiled"] = contenders["engine"] + ["--compile-mode", "on"]
        # the engine's training processes start as the studio and the CLI start them: with the faster
        # allocator (engine/launch/allocator.py); nanoGPT runs with glibc's malloc, and so does engine_glibc
        extra = {k: v for k, v in training_env(dict(os.environ)).items() if os.environ.get(k) != v}
        if extra.get("LD_PRELOAD"):
            contenders["engine_glibc"] = contenders["engine"]
        res = run_in_turns(contenders, a.rounds, env={"engine": extra, "compiled": extra})
        ref_s, eng_s = res["reference"]["step_s"], res["engine"]["step_s"]
        fpt = res["engine"]["flops_per_token"]
        tokens_step = t["batch_size"] * m["block_size"]
        print(json.dumps({
            "recipe": recipe, "reference_ms": round(1000 * ref_s, 1), "engine_ms": round(1000 * eng_s, 1),
            "speedup_vs_reference": round(ref_s / eng_s, 3),
            "engine_tokens_per_s": round(tokens_step / eng_s), "engine_mfu_vs_measured_peak":
                round(fpt * tokens_step / eng_s / peak, 3),
            "reference_mfu_vs_measured_peak": round(fpt * tokens_step / ref_s / peak, 3),
            "engine_allocator": os.path.basename(extra.get("LD_PRELOAD", "glibc")),
            **({"engine_glibc_ms": round(1000 * res["engine_glibc"]["step_s"], 1),
                "allocator_speedup": round(res["engine_glibc"]["step_s"] / eng_s, 3)}
               if "engine_glibc" in res else {}),
            "rounds": a.rounds, "steps_timed": {k: v["steps_timed"] for k, v in res.items()}}), flush=True)
        if "compiled" in res:
            comp_s = res["compiled"]["step_s"]
            print(json.dumps({"recipe": recipe, "compiled_engine_ms": round(1000 * comp_s, 1),
                              "compiled_speedup_vs_reference": round(ref_s / comp_s, 3),
                              "compiled_speedup_vs_eager_engine": round(eng_s / comp_s, 3)}), flush=True)


if __name__ == "__main__":
    main()
