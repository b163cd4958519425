"""The command line's commands that train code serves beyond training: eval, a checkpoint measured by its task."""

from __future__ import annotations

from pathlib import Path

from engine.config import schema as config_mod
from engine.config.schema import PAIR_OBJECTIVES
from engine.core.errors import UserError
from engine.run.folder import RUN_FILE


def cmd_eval(args) -> int:
    # here, not at the top: the CLI starts without torch
    from engine.model.load import load_announced
    from engine.train.evaluate import evaluate_checkpoint

    if args.batches < 1:
        raise UserError("--batches must be at least 1")
    split = getattr(args, "split", "validation")
    if split == "test" and (Path(args.run_dir) / RUN_FILE).is_file():  # refused before any model is loaded
        held = config_mod.load(Path(args.run_dir) / RUN_FILE).data.test_fraction
        if not held:
            raise UserError(f"{Path(args.run_dir).name} has no test split (data.test_fraction = 0): score "
                            f"--split validation, or train with a test_fraction to hold one out")
    model, tokenizer, path = load_announced(args)
    cfg = config_mod.load(Path(args.run_dir) / RUN_FILE)
    m = evaluate_checkpoint(cfg, model, tokenizer, batches=args.batches, split=split)
    if not abs(m["loss"]) < float("inf"):  # NaN or inf: huge weights overflow; not a score to report
        raise UserError(f"{path.name}'s {split} loss is {m['loss']}: the run had diverged when it was saved; "
                        f"evaluate an earlier checkpoint (--checkpoint)")
    parts = [f"{split} loss {m['loss']:.4f}"]
    if cfg.model.objective == "causal":
        parts.append(f"perplexity {m['ppl']:.2f}")
    names = {"accuracy": {"masked": "masked-token accuracy", "seq2seq": "token accuracy",
                          "instruct": "token accuracy"}.get(cfg.model.objective, "accuracy"),
             "nsp_accuracy": "next-sentence accuracy", "macro_f1": "macro-F1", "exact_match": "exact match"}
    parts += [f"{text} {m[key]:.1%}" for key, text in names.items() if key in m]
    parts += [f"{text} {m[key]:.1f}" for key, text in (("bleu", "BLEU"), ("chrf", "chrF")) if key in m]
    parts += [f"ROUGE-L {m['rouge_l']:.3f}"] if "rouge_l" in m else []
    over = (f"every {split} example" if cfg.model.objective == "classify" else
            "every test pair, each target written" if cfg.model.objective in PAIR_OBJECTIVES and split == "test"
            and "exact_match" in m else
            f"up to {args.batches} batches of {cfg.train.batch_size} pairs, {cfg.task.metric_samples} targets written"
            if cfg.model.objective in PAIR_OBJECTIVES and "exact_match" in m else
            f"{args.batches} batches of {cfg.train.batch_size}x{cfg.model.block_size} tokens")
    print(f"{path.name}: " + ", ".join(parts) + f" ({over})")
    return 0
