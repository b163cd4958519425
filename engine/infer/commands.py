"""The command line's commands that use a trained run: eval, generate, predict, export, attention, and
serve (the inference worker). Each checks its arguments before it loads anything."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.config import PAIR_OBJECTIVES
from engine.errors import UserError


def _load(args, device: str = "cpu"):
    """(model, tokenizer, checkpoint) of the run named on the command line, saying which checkpoint it is and
    which damaged ones were passed over."""
    from engine.infer.load import load_for_inference
    from engine.run.folder import require_run_folder

    require_run_folder(args.run_dir)
    model, tokenizer, path = load_for_inference(Path(args.run_dir), args.checkpoint, device=device,
                                                warn=lambda text: print(f"warning: {text}", file=sys.stderr))
    which = {None: "the best by validation loss; --checkpoint latest takes the newest", "best": "the best by "
             "validation loss", "latest": "the newest"}.get(args.checkpoint, "as asked")
    print(f"using checkpoint {path.name} ({which})", file=sys.stderr)
    return model, tokenizer, path


def cmd_eval(args) -> int:
    from engine import config as config_mod
    from engine.infer.evaluate import evaluate_checkpoint

    if args.batches < 1:
        raise UserError("--batches must be at least 1")
    split = getattr(args, "split", "validation")
    if split == "test" and (Path(args.run_dir) / "run.toml").is_file():  # refused before any model is loaded
        held = config_mod.load(Path(args.run_dir) / "run.toml").data.test_fraction
        if not held:
            raise UserError(f"{Path(args.run_dir).name} has no test split (data.test_fraction = 0): score "
                            f"--split validation, or train with a test_fraction to hold one out")
    model, tokenizer, path = _load(args)
    cfg = config_mod.load(Path(args.run_dir) / "run.toml")
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


def cmd_generate(args) -> int:
    from engine.infer.generate import SamplingOptions, beam_search, generate_text
    from engine.infer.respond import answers, respond, run_objective
    from engine.train.device import resolve_device

    answering = args.temperature is None and (Path(args.run_dir) / "run.toml").is_file() and \
        run_objective(args.run_dir) in PAIR_OBJECTIVES
    args.temperature = (0.0 if answering else 0.8) if args.temperature is None else args.temperature
    _check_sampling(args)
    args.device = str(resolve_device(args.device, "--device"))
    model, tokenizer, _ = _load(args, args.device)
    if answers(model, run_objective(args.run_dir)):  # a seq2seq or instruct run: the prompt is the source
        opts = SamplingOptions(max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_k=args.top_k,
                               top_p=args.top_p, repetition_penalty=args.repetition_penalty, seed=args.seed)
        sys.stdout.write(respond(model, tokenizer, args.prompt, opts, beams=args.beams, device=args.device) + "\n")
        return 0
    if model.config.arch != "gpt" or model.config.num_labels:
        raise UserError("generate continues text with a causal (GPT) model; use `predict` for this run")
    if args.beams > tokenizer.vocab_size:
        raise UserError(f"--beams {args.beams} is more than the vocabulary ({tokenizer.vocab_size} tokens)")
    if args.beams > 1:
        ids = beam_search(model, tokenizer.encode(args.prompt), beams=args.beams, max_new_tokens=args.max_new_tokens,
                          device=args.device)
        text = tokenizer.decode(ids)
    else:
        opts = SamplingOptions(max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_k=args.top_k,
                               top_p=args.top_p, repetition_penalty=args.repetition_penalty, seed=args.seed,
                               stop=args.stop)
        text = generate_text(model, tokenizer, args.prompt, opts, device=args.device)
    sys.stdout.write(args.prompt + text + "\n")
    return 0


def _check_sampling(args) -> None:
    """The rule the inference worker uses too (engine/infer/sampling_rules.py), in the command line's names."""
    from engine.infer.sampling_rules import RULES, check_sampling

    check_sampling({key: getattr(args, key) for key in RULES}, lambda key: "--" + key.replace("_", "-"))


def cmd_predict(args) -> int:
    from engine.infer.predict import classify, fill_mask

    if not args.text.strip():
        raise UserError("--text is empty: give a text to label, or one with [MASK] to fill in")
    if args.top_k < 1:
        raise UserError("--top-k must be at least 1 (the guesses shown for each [MASK])")
    model, tokenizer, _ = _load(args)
    if model.config.num_labels:
        for label, p in classify(model, tokenizer, args.text):
            print(f"{p:7.2%}  {label}")
    elif model.config.arch == "bert":
        filled, guesses = fill_mask(model, tokenizer, args.text, args.top_k)
        print(filled)
        for g in guesses:
            print(f"  token {g.position}: " + ", ".join(f"{t!r} {p:.1%}" for t, p in g.candidates))
    else:
        raise UserError("predict is for classifiers and masked-LM models; use `generate` for this run")
    return 0


def cmd_export(args) -> int:
    from engine.interop.export import export_any, export_format

    out = Path(args.out)
    if export_format(out, args.format) == "hf" and out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file: name a new folder for the export")
    model, tokenizer, path = _load(args)
    what = export_any(model, tokenizer, out, format=args.format, dtype=args.type,
                      labels=getattr(model, "labels", None))
    print(f"wrote {path.name} as {what}")
    return 0


def cmd_attention(args) -> int:
    from engine.infer.inspect import attention_maps, save_maps, seq2seq_stack
    from engine.paths import output_file
    from engine.probes.support import model_kind, require

    output_file(args.out, suffixes=(".npy", ".csv"), beside=(".tokens.json",) if args.out.endswith(".npy") else ())
    model, tokenizer, path = _load(args)
    require(model, "attention")
    if model_kind(model) == "seq2seq":  # three stacks: the text is the source, the target is written greedily
        stack = args.stack or "cross"
        maps, tokens, keys = seq2seq_stack(model, tokenizer, args.text, stack)
        what = f"{maps.shape[2]} x {maps.shape[3]} tokens of {stack} attention"
    elif args.stack:
        raise UserError("--stack chooses among an encoder-decoder's (seq2seq) attention stacks; this run has one "
                        "stack of self-attention: leave --stack out")
    else:
        (maps, tokens), keys = attention_maps(model, tokenizer, args.text), None
        what = f"{maps.shape[2]} tokens"  # queries and keys alike
    save_maps(args.out, maps, tokens, keys)
    print(f"wrote {maps.shape[0]} layers x {maps.shape[1]} heads x {what} from {path.name} to {args.out}")
    return 0


def cmd_serve(args) -> int:
    from engine.infer.serve import main as serve

    return serve()
