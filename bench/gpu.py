"""GPU throughput: a GPT-2-small sized model on one CUDA device, MFU against the card's bf16 peak.

A variant is MODE-bBATCH[-FLAG...]: MODE eager or compile; FLAG plainloss (the whole logits at once,
as before engine/model/linear_loss.py sliced them), liger (liger-kernel's fused linear cross-entropy in
place of the slices, where it is installed) or fp8 (train.precision = "fp8", torchao). Prints one JSON
line per variant and the ratios between them, each measured in this one run:
    python bench/gpu.py [--steps 60] [--variants eager-b16,compile-b32,compile-b32-fp8]
"""

from __future__ import annotations

import argparse

from common import emit, recipe_config, run_trainer, synthetic_corpus, temp_dir

VARIANTS = "eager-b16,compile-b32-plainloss,compile-b32,compile-b32-liger,compile-b64,compile-b32-fp8,compile-b64-fp8"
FLAGS = ("plainloss", "liger", "fp8")


def liger_loss():
    """linear_cross_entropy's signature over liger-kernel's fused Triton kernel."""
    from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss

    fused = LigerFusedLinearCrossEntropyLoss(ignore_index=-100)
    return lambda x, weight, targets: fused(weight, x.reshape(-1, x.shape[-1]), targets.reshape(-1))


def parse(variant: str) -> tuple[str, int, set[str]]:
    mode, batch, *flags = variant.split("-")
    if mode not in ("eager", "compile") or not batch.startswith("b") or not set(flags) <= set(FLAGS):
        raise SystemExit(f"variant {variant!r}: write MODE-bBATCH[-FLAG], MODE eager|compile, FLAG {'|'.join(FLAGS)}")
    return mode, int(batch[1:]), set(flags)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--recipe", default="gpt2-small")
    p.add_argument("--variants", default=VARIANTS)
    args = p.parse_args()
    import torch

    from engine.model import gpt, linear_loss

    variants = [(v, *parse(v)) for v in args.variants.split(",")]
    tmp = temp_dir()
    vocab = {"gpt2-small": 50257}.get(args.recipe, 65)
    corpus = synthetic_corpus(vocab, 20_000_000, tmp)
    results = {}
    sliced_from, slices = linear_loss.MIN_LOGIT_BYTES, gpt.linear_cross_entropy
    for variant, mode, batch, flags in variants:
        linear_loss.MIN_LOGIT_BYTES = float("inf") if "plainloss" in flags else sliced_from
        try:
            gpt.linear_cross_entropy = liger_loss() if "liger" in flags else slices
        except ImportError as e:
            emit({"variant": variant, "failed": f"liger-kernel is not installed ({e})"})
            continue
        cfg = recipe_config(args.recipe, steps=args.steps, device="cuda", out_dir=str(tmp / variant),
                            batch_size=batch, compile="on" if mode == "compile" else "off", log_interval=5,
                            precision="fp8" if "fp8" in flags else "bf16")
        torch.cuda.reset_peak_memory_stats()
        try:
            r = run_trainer(cfg, corpus)
        except Exception as e:  # one variant that cannot run (memory, a kernel) leaves the others their turn
            emit({"variant": variant, "failed": f"{type(e).__name__}: {str(e)[:300]}"})
            continue
        r.update(variant=variant, recipe=args.recipe, device=torch.cuda.get_device_name(),
                 max_memory_gib=round(torch.cuda.max_memory_allocated() / 2**30, 2))
        results[variant] = r
        emit(r)
    base = next(iter(results), None)
    for name, r in results.items():
        if name != base:
            emit({"ratio": f"{name} / {base} tokens per second",
                  "value": round(r["tokens_per_s"] / results[base]["tokens_per_s"], 3)})


if __name__ == "__main__":
    main()
