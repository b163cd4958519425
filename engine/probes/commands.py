"""`attention`, `heads` and `lens`: the attention maps, head scores, ablation and logit lens of a run's checkpoint
on the command line. COMMANDS registers them (engine/core/commands.py)."""

from __future__ import annotations

import json
import sys

from engine.core.commands import CHECKPOINT_HELP, Command
from engine.core.errors import UserError
from engine.core.paths import output_file
from engine.probes.concept_command import CONCEPT
from engine.probes.features_command import FEATURES
from engine.probes.fourier_command import FOURIER
from engine.probes.support import model_kind, require
from engine.probes.text_cut import cut_note


def cmd_heads(args) -> int:
    from engine.model.load import load_announced  # here, not at the top: the CLI starts without torch
    from engine.probes.ablation import rank_heads
    from engine.probes.head_scores import SCORES, head_roles, head_scores

    if args.text is not None and not args.text.strip():
        raise UserError("--text is empty: give a text to ablate the heads on")
    model, tokenizer, path = load_announced(args)
    for probe in ("heads", "ablation") if args.text else ("heads",):  # before anything is printed
        require(model, probe)
    scores = head_scores(model, tokenizer.ordinary_ids())
    roles = head_roles(scores)
    if args.json:
        print(json.dumps({"checkpoint": path.name, "head_scores": scores, "roles": roles}))
        return 0
    print("head " + "".join(f"{s:>10}" for s in SCORES) + "  role")
    for layer, row in enumerate(roles):
        for head, role in enumerate(row):
            print(f"{layer}.{head:<3}" + "".join(f"{scores[s][layer][head]:>10.3f}" for s in SCORES) + f"  {role}")
    if args.text:
        _warn_cut(model, tokenizer, args.text)
        print(f"\nablating each head alone on the text ({len(tokenizer.encode(args.text))} tokens):")
        for layer, head, rise in rank_heads(model, tokenizer, args.text)[:10]:
            print(f"  {layer}.{head:<3} loss {rise:+.4f}")
    return 0


def cmd_lens(args) -> int:
    from engine.model.load import load_announced  # here, not at the top: the CLI starts without torch
    from engine.probes.logit_lens import logit_lens

    if not args.text.strip():
        raise UserError("--text is empty: give a text to read the layers' guesses on")
    if args.top_k < 1:
        raise UserError("--top-k must be at least 1")
    model, tokenizer, _ = load_announced(args)
    lens = logit_lens(model, tokenizer, args.text, k=args.top_k)
    _warn_cut(model, tokenizer, args.text)
    width = 10 + 9 * args.top_k
    print(f"{'pos':>4} {'token':>8} {'next':>8}  " + "".join(f"{d:<{width}}" for d in lens.depths))
    for t, token in enumerate(lens.tokens):
        after = repr(lens.tokens[t + 1]) if t + 1 < len(lens.tokens) else ""
        cells = []
        for d in range(len(lens.depths)):
            guesses = " ".join(f"{lens.top_strings[d][t][j]!r} {lens.top_probs[d, t, j]:.0%}"
                               for j in range(lens.top_probs.shape[-1]))
            cells.append(f"{guesses:<{width}}")
        print(f"{t:>4} {token!r:>8} {after:>8}  " + "".join(cells))
    return 0


def cmd_attention(args) -> int:
    from engine.model.load import load_announced  # here, not at the top: the CLI starts without torch
    from engine.probes.attention import attention_maps, save_maps, seq2seq_stack

    output_file(args.out, suffixes=(".npy", ".csv"), beside=(".tokens.json",) if args.out.endswith(".npy") else ())
    model, tokenizer, path = load_announced(args)
    require(model, "attention")
    if model_kind(model) == "seq2seq":  # three stacks: the text is the source, the target is written greedily
        from engine.infer.respond import target_context  # here, not at the top: the CLI starts without torch

        stack = args.stack or "cross"
        maps, tokens, keys = seq2seq_stack(model, tokenizer, args.text, stack,
                                           max_len=target_context(args.run_dir, model))
        what = f"{maps.shape[2]} x {maps.shape[3]} tokens of {stack} attention"
    elif args.stack:
        raise UserError("--stack chooses among an encoder-decoder's (seq2seq) attention stacks; this run has one "
                        "stack of self-attention: leave --stack out")
    else:
        (maps, tokens), keys = attention_maps(model, tokenizer, args.text), None
        what = f"{maps.shape[2]} tokens"  # queries and keys alike
    _warn_cut(model, tokenizer, args.text)
    save_maps(args.out, maps, tokens, keys)
    print(f"wrote {maps.shape[0]} layers x {maps.shape[1]} heads x {what} from {path.name} to {args.out}")
    return 0


def _warn_cut(model, tokenizer, text: str) -> None:
    if note := cut_note(model, tokenizer, text):
        print(f"warning: {note}", file=sys.stderr)


def _attention_arguments(sp) -> None:
    sp.add_argument("run_dir")
    sp.add_argument("--text", required=True)
    sp.add_argument("--checkpoint", help=CHECKPOINT_HELP)
    sp.add_argument("--out", required=True, help="a .npy file (layers, heads, T, T) or a .csv (long format)")
    sp.add_argument("--stack", choices=("encoder", "decoder", "cross"),
                    help="an encoder-decoder (seq2seq) run: which attention (default cross: target x source); "
                         "--text is the source, and the target is the model's own greedy output, at most "
                         "model.target_block_size tokens, then its end token")


def _heads_arguments(sp) -> None:
    sp.add_argument("run_dir")
    sp.add_argument("--checkpoint", help=CHECKPOINT_HELP)
    sp.add_argument("--text", help="rank the heads by how much ablating each raises the loss on this text")
    sp.add_argument("--json", action="store_true", help="print the scores as JSON")


def _lens_arguments(sp) -> None:
    sp.add_argument("run_dir")
    sp.add_argument("--text", required=True)
    sp.add_argument("--checkpoint", help=CHECKPOINT_HELP)
    sp.add_argument("--top-k", type=int, default=1, help="guesses shown per layer and position (default 1)")


COMMANDS = [
    Command("attention", cmd_attention, "export a checkpoint's attention maps for a text (.npy or .csv)",
            _attention_arguments),
    Command("heads", cmd_heads, "score every attention head (induction, previous-token, duplicate, sink, local, "
                                "entropy) and name its role; with --text, rank heads by what zeroing each costs",
            _heads_arguments),
    Command("lens", cmd_lens, "the logit lens: each layer's guess at the next token of a text", _lens_arguments),
    FOURIER,
    FEATURES,
    CONCEPT,
]
