"""GPU throughput: a GPT-2-small sized model on one CUDA device, MFU against the card's bf16 peak.

Prints one JSON line per variant and the ratios between them, each measured in this one run:
    python bench/gpu.py [--steps 60]
"""

from __future__ import annotations

import argparse

from common import emit, recipe_config, run_trainer, synthetic_corpus, temp_dir


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--recipe", default="gpt2-small")
    p.add_argument("--variants", default="eager-b16,compile-b16,compile-b32,compile-b64")
    args = p.parse_args()
    import torch

    tmp = temp_dir()
    vocab = {"gpt2-small": 50257}.get(args.recipe, 65)
    corpus = synthetic_corpus(vocab, 20_000_000, tmp)
    results = {}
    for variant in args.variants.split(","):
        mode, batch = variant.split("-b")
        cfg = recipe_config(args.recipe, steps=args.steps, device="cuda", out_dir=str(tmp / variant),
                            batch_size=int(batch), compile="on" if mode == "compile" else "off", log_interval=5,
                            precision="bf16")
        torch.cuda.reset_peak_memory_stats()
        r = run_trainer(cfg, corpus)
        r.update(variant=variant, recipe=args.recipe, device=torch.cuda.get_device_name(),
                 max_memory_gib=round(torch.cuda.max_memory_allocated() / 2**30, 2))
        results[variant] = r
        emit(r)
    base = results.get("eager-b16")
    for name, r in results.items():
        if base and name != "eager-b16":
            emit({"ratio": f"{name} / eager-b16 tokens per second", "value": round(r["tokens_per_s"] /
                                                                                   base["tokens_per_s"], 3)})


if __name__ == "__main__":
    main()
