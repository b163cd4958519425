"""CPU throughput of the engine against a nanoGPT-style loop, and MFU against this machine's matmul peak.

Runs alternate (reference, engine, reference, engine, ...) in fresh processes so machine drift hits both;
each figure is a median. Prints JSON lines and the ratios:
    python bench/cpu.py [--recipes baby,medium] [--rounds 3] [--threads 2] [--compiled]
With --compiled the engine also runs with train.compile = "on" (the first compile of a model takes
about a minute and is cached; only steps after warm-up are timed, as for every variant).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
STEPS = {"baby": 250, "medium": 24}


def engine_once(recipe: str, steps: int, tokens: str, threads: int, compile: str = "off") -> dict:
    sys.path.insert(0, str(HERE))
    from common import recipe_config, run_trainer, synthetic_corpus, temp_dir

    tmp = temp_dir()
    corpus = synthetic_corpus(65, 300_000, tmp)
    cfg = recipe_config(recipe, steps=steps, device="cpu", out_dir=str(tmp / "run"), threads=threads, lr=1e-3,
                        min_lr=1e-4, warmup_steps=100, beta2=0.99, compile=compile)
    return run_trainer(cfg, corpus)


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


def run(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--recipes", default="baby,medium")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--compiled", action="store_true", help="also time the engine with torch.compile")
    p.add_argument("--engine-once", help=argparse.SUPPRESS)
    p.add_argument("--compile-mode", default="off", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.engine_once:
        print(json.dumps(engine_once(a.engine_once, STEPS[a.engine_once], "", a.threads, a.compile_mode)))
        return
    sys.path.insert(0, str(HERE))
    from common import RECIPES

    tokens = HERE.parent / "build" / "bench-tokens65.bin"
    tokens.parent.mkdir(exist_ok=True)
    np.random.default_rng(0).integers(0, 65, 300_000, dtype=np.uint16).tofile(tokens)
    peak = matmul_peak(a.threads)
    print(json.dumps({"cpu_fp32_matmul_peak_gflops": round(peak / 1e9, 1), "threads": a.threads}))
    for recipe in a.recipes.split(","):
        m, t = RECIPES[recipe]["model"], RECIPES[recipe]["train"]
        ref_args = [str(HERE / "reference_loop.py"), str(tokens), "--steps", str(STEPS[recipe]),
                    "--n-layer", str(m["n_layer"]), "--n-head", str(m["n_head"]), "--n-embd", str(m["n_embd"]),
                    "--block-size", str(m["block_size"]), "--batch-size", str(t["batch_size"]),
                    "--threads", str(a.threads)]
        ref, eng, comp = [], [], []
        once = [str(HERE / "cpu.py"), "--engine-once", recipe, "--threads", str(a.threads)]
        for _ in range(a.rounds):
            ref.append(run(ref_args)["step_s"])
            eng.append(run(once))
            if a.compiled:
                comp.append(run(once + ["--compile-mode", "on"]))
        ref_s = statistics.median(ref)
        eng_s = statistics.median(e["step_s"] for e in eng)
        if comp:
            comp_s = statistics.median(e["step_s"] for e in comp)
            print(json.dumps({"recipe": recipe, "compiled_engine_ms": round(1000 * comp_s, 1),
                              "compiled_speedup_vs_reference": round(ref_s / comp_s, 3),
                              "compiled_speedup_vs_eager_engine": round(eng_s / comp_s, 3)}))
        fpt = eng[0]["flops_per_token"]
        tokens_step = t["batch_size"] * m["block_size"]
        print(json.dumps({
            "recipe": recipe, "reference_ms": round(1000 * ref_s, 1), "engine_ms": round(1000 * eng_s, 1),
            "speedup_vs_reference": round(ref_s / eng_s, 3),
            "engine_tokens_per_s": round(tokens_step / eng_s), "engine_mfu_vs_measured_peak":
                round(fpt * tokens_step / eng_s / peak, 3),
            "reference_mfu_vs_measured_peak": round(fpt * tokens_step / ref_s / peak, 3),
            "rounds": a.rounds}))


if __name__ == "__main__":
    main()
