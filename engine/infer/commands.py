"""The command line's commands that use a trained run: generate, predict, fewshot, export. Each checks
its arguments before it loads anything. COMMANDS registers them (engine/core/commands.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from engine.config.schema import PAIR_OBJECTIVES
from engine.core.commands import CHECKPOINT_HELP, Command
from engine.core.errors import UserError
from engine.infer.chat_command import CHAT
from engine.infer.fewshot_command import FEWSHOT
from engine.run.folder import RUN_FILE


def cmd_generate(args) -> int:
    from engine.infer.generate import (  # here, not at the top: the CLI starts without torch
        SamplingOptions,
        beam_search,
        generate_text,
    )
    from engine.infer.respond import answers, respond, run_objective, source_cut_note, target_context, unknown_note
    from engine.infer.sampling_rules import default_temperature
    from engine.model.load import load_announced  # here, not at the top: the CLI starts without torch
    from engine.runtime.device import resolve_device

    answering = args.temperature is None and (Path(args.run_dir) / RUN_FILE).is_file() and \
        run_objective(args.run_dir) in PAIR_OBJECTIVES
    args.temperature = default_temperature(answering) if args.temperature is None else args.temperature
    _check_sampling(args)
    args.device = str(resolve_device(args.device, "--device"))
    model, tokenizer, _ = load_announced(args, args.device)
    _warn(unknown_note(tokenizer, args.prompt))
    if answers(model, run_objective(args.run_dir)):  # a seq2seq or instruct run: the prompt is the source
        _warn(source_cut_note(model, tokenizer, args.prompt))
        if model.config.arch == "t5" and args.max_new_tokens > (most := target_context(args.run_dir, model)):
            _warn(f"--max-new-tokens {args.max_new_tokens} is more than this model's target context: it writes at "
                  f"most {most} tokens (model.target_block_size)")
            args.max_new_tokens = most
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


def _warn(note: str | None) -> None:
    if note:
        print(f"warning: {note}", file=sys.stderr)


def _check_sampling(args) -> None:
    """The rule the inference worker uses too (engine/infer/sampling_rules.py), in the command line's names."""
    from engine.infer.sampling_rules import RULES, check_sampling  # here, not at the top: the CLI starts without torch

    check_sampling({key: getattr(args, key) for key in RULES}, lambda key: "--" + key.replace("_", "-"))


def cmd_predict(args) -> int:
    from engine.infer.predict import classify, fill_mask  # here, not at the top: the CLI starts without torch
    from engine.infer.span_answer import is_span_model
    from engine.infer.tagging import is_tagger
    from engine.model.load import load_announced  # here, not at the top: the CLI starts without torch

    asking = _check_question(args)
    if not asking and not args.text.strip():
        raise UserError("--text is empty: give a text to label or tag, or one with [MASK] to fill in")
    if args.top_k < 1:
        raise UserError("--top-k must be at least 1 (the guesses shown for each [MASK])")
    model, tokenizer, _ = load_announced(args)
    if is_span_model(model) or asking:
        _print_answer(model, tokenizer, args)
    elif is_tagger(model):
        _print_entities(model, tokenizer, args.text)
    elif model.config.num_labels:
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


def _check_question(args) -> bool:
    """True for a question (--context and --question), False for a --text; refused in a sentence when neither or
    both are given, or one of the pair is empty."""
    if args.context is None and args.question is None:
        if args.text is None:
            raise UserError("give --text (a text to label, tag or fill in), or --context and --question for a "
                            "question answerer")
        return False
    if args.text is not None:
        raise UserError("give --text (to label, tag or fill in) or --context and --question (to answer), not both")
    for flag, value, what in (("--context", args.context, "the text the answer is found in"),
                              ("--question", args.question, "a question on the context")):
        if not (value or "").strip():
            raise UserError(f"{flag} is {'missing' if value is None else 'empty'}: give {what}")
    return True


def _print_answer(model, tokenizer, args) -> None:
    """The answer to --question in --context with its score and character offsets, or that there is none."""
    from engine.infer.span_answer import answer_question, is_span_model, run_stride  # the CLI starts without torch

    if not is_span_model(model):
        raise UserError("--context and --question are for a question answerer (model.objective = \"span\"); this "
                        "run takes --text")
    if args.context is None:
        raise UserError("this run answers questions: give --context (the text) and --question (a question on it)")
    found = answer_question(model, tokenizer, args.context, args.question, doc_stride=run_stride(args.run_dir))
    windows = f", read in {found.windows} windows" if found.windows > 1 else ""
    if found.text:
        print(f"answer: {found.text!r} at {found.start}-{found.end} (score {found.score:.1%}{windows})")
    else:
        print(f"no answer: the context does not answer the question, the model finds (no-answer score "
              f"{found.no_answer:.1%} over the best span's {found.score:.1%}{windows})")


def _print_entities(model, tokenizer, text: str) -> None:
    """The text with its entities marked, then one entity a line: type, text, character offsets, score."""
    from engine.infer.tagging import marked_text, tag_text  # here, not at the top: the CLI starts without torch

    tagged = tag_text(model, tokenizer, text)
    print(marked_text([w for w, _, _ in tagged.words], tagged.tags))
    width = max((len(e.kind) for e in tagged.entities), default=0)
    for e in tagged.entities:
        print(f"{e.kind:<{width}}  {e.text!r} at {e.start}-{e.end} ({e.score:.1%})")
    if not tagged.entities:
        print("no entities found")


def cmd_export(args) -> int:
    from engine.data.chat_template import chat_template_of
    from engine.infer.respond import run_objective
    from engine.interop.export import export_any, export_format  # here, not at the top: the CLI starts without torch
    from engine.model.load import load_announced  # here, not at the top: the CLI starts without torch

    out = Path(args.out)
    if export_format(out, args.format) == "hf" and out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file: name a new folder for the export")
    model, tokenizer, path = load_announced(args)
    what = export_any(model, tokenizer, out, format=args.format, dtype=args.type,
                      labels=getattr(model, "labels", None),
                      chat_template=chat_template_of(run_objective(args.run_dir)))
    print(f"wrote {path.name} as {what}")
    return 0


def _generate_arguments(sp) -> None:
    sp.add_argument("run_dir")
    sp.add_argument("--prompt", default="\n")
    sp.add_argument("--checkpoint", help=CHECKPOINT_HELP)
    sp.add_argument("--max-new-tokens", type=int, default=200)
    sp.add_argument("--temperature", type=float, help="0 = greedy (default: 0.8, and 0 for a seq2seq or instruct "
                                                     "run, whose prompt is a source to answer)")
    sp.add_argument("--top-k", type=int, default=0)
    sp.add_argument("--top-p", type=float, default=1.0)
    sp.add_argument("--repetition-penalty", type=float, default=1.0)
    sp.add_argument("--beams", type=int, default=1, help="beam search with this many beams (deterministic)")
    sp.add_argument("--stop", action="append", default=[], help="stop at this string (repeatable)")
    sp.add_argument("--seed", type=int)
    sp.add_argument("--device", default="cpu")


def _predict_arguments(sp) -> None:
    sp.add_argument("run_dir")
    sp.add_argument("--text", help="the text to label (classifier), tag (tagger) or fill in (masked LM)")
    sp.add_argument("--context", help="a question answerer's text, in which the answer to --question is found")
    sp.add_argument("--question", help="a question on --context (a question answerer: model.objective = \"span\")")
    sp.add_argument("--checkpoint", help=CHECKPOINT_HELP)
    sp.add_argument("--top-k", type=int, default=5)


def _export_arguments(sp) -> None:
    sp.add_argument("run_dir")
    sp.add_argument("--out", required=True, help="a new folder, or a new file ending in .gguf")
    sp.add_argument("--format", choices=("hf", "gguf"), help="default: gguf for a name ending in .gguf, else hf")
    sp.add_argument("--type", choices=("f32", "f16", "q8_0"), default="f16", help="GGUF weight type (default f16)")
    sp.add_argument("--checkpoint", help=CHECKPOINT_HELP)


COMMANDS = [
    Command("generate", cmd_generate, "continue a prompt with a run's model", _generate_arguments),
    Command("predict", cmd_predict, "label a text (classifier), find its entities (tagger), answer a question on a "
                                    "context (question answerer) or fill in its [MASK] tokens (masked LM)",
            _predict_arguments),
    Command("export", cmd_export, "write a run's model as a transformers folder (GPT-2, GPT-NeoX, Llama, BERT) or "
                                  "a GGUF file for llama.cpp", _export_arguments),
    FEWSHOT,
    CHAT,
]
