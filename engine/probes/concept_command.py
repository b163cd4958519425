"""`concept` on the command line: what each layer "knows" of a concept over training, as the accuracy of a
linear probe per layer and checkpoint (engine/probes/concepts.py). engine/probes/commands.py lists it among the
probe commands."""

from __future__ import annotations

import json
import sys

from engine.core.commands import Command
from engine.core.errors import UserError


def cmd_concept(args) -> int:
    from engine.probes.concept import Concept, slug  # here, not at the top: the CLI starts without numpy
    from engine.probes.concepts import run_concept, table_lines

    given = [(kind, value) for kind, value in (("regex", args.regex), ("tokens", args.tokens), ("csv", args.csv))
             if value is not None]
    if len(given) != 1:
        raise UserError("say what the concept is with one of --regex, --tokens or --csv")
    concept = Concept(*given[0])
    if args.positions is not None and args.positions < 2:
        raise UserError(f"--positions must be at least 2, not {args.positions}")
    name = args.name or slug(concept)
    if not name.replace("-", "").replace("_", "").isalnum():
        raise UserError(f"--name {name!r} is not a file name: use letters, digits, - and _")
    extra = {} if args.positions is None else {"positions": args.positions}
    out = run_concept(args.run_dir, concept, name=name, checkpoints=args.checkpoint, layer=args.layer,
                      say=lambda text: print(text, file=sys.stderr, flush=True), **extra)
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return 0
    shares = ", ".join(f"{c} {n / max(out['examples'], 1):.1%}" for c, n in zip(out["concept"]["classes"],
                                                                                   out["counts"]))
    print(f"concept {concept.kind} {concept.spec!r}: {out['examples']:,} examples ({shares}); each probe fitted on "
          f"{1 - out['held_out']:.0%} of them and scored on the {out['held_out']:.0%} held out (by "
          f"{'row' if concept.kind == 'csv' else 'window'}); always guessing the commoner label scores "
          f"{out['chance']:.1%}\n")
    print("\n".join(table_lines(out)))
    print(f"\nbalanced accuracy (each label's accuracy, averaged: {1 / len(out['counts']):.0%} is chance, whatever "
          f"the labels' shares):")
    print("\n".join(table_lines(out, "balanced")))
    print(f"wrote {out['path']}", file=sys.stderr)
    return 0


def _concept_arguments(sp) -> None:
    sp.add_argument("run_dir")
    what = sp.add_mutually_exclusive_group()
    what.add_argument("--regex", help="a regular expression over the text: the tokens its matches cover are the "
                                      "concept, such as '\"[^\"]*\"' (inside a quotation) or '.(?=[0-9])' (a digit "
                                      "follows)")
    what.add_argument("--tokens", help="the concept's tokens, comma-separated (a,e,i,o,u), or token=label pairs, or "
                                       "a file of one token (or token<TAB>label) a line")
    what.add_argument("--csv", help="a CSV with the columns text and label: each text read at its last token")
    sp.add_argument("--name", help="the results' file name in the run's concepts/ folder (default: from the concept)")
    sp.add_argument("--layer", type=int, help="probe this block's output alone (default: the embeddings and every "
                                              "block)")
    sp.add_argument("--checkpoint", help="the checkpoints to read, comma-separated (default: every one)")
    sp.add_argument("--positions", type=int, help="validation positions labelled by a regex or token list "
                                                  "(default 8192)")
    sp.add_argument("--json", action="store_true", help="print the table and its details as JSON")


CONCEPT = Command("concept", cmd_concept, "probes over training: a linear probe per layer and checkpoint for a "
                  "concept given as a regex, a token list or a CSV of (text, label); the accuracy table",
                  _concept_arguments)
