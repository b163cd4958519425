"""`features` on the command line: an SAE on one layer for each checkpoint of a run, its features and their
timeline (engine/probes/features.py). engine/probes/commands.py lists it among the probe commands."""

from __future__ import annotations

import json
import sys

from engine.core.commands import Command


def cmd_features(args) -> int:
    from engine.probes.features import HEADER, Settings, run_features, strongest  # the CLI starts without torch

    given = {"layer": args.layer, "width": args.width, "k": args.k, "positions": args.positions, "steps": args.steps,
             "match": args.match, "checkpoints": args.checkpoint}
    settings = Settings(**{name: value for name, value in given.items() if value is not None})
    rows = []

    def say(text: str) -> None:  # each checkpoint's row as its SAE is done (the header before the first)
        if not args.json:
            if not rows:
                print(HEADER)
            print(text, flush=True)
        rows.append(text)

    out = run_features(args.run_dir, settings, say=say)
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return 0
    last = out["checkpoints"][-1]
    print(f"\nlayer {out['layer']} ({out['hook_name']}): {out['width']} features, {out['k']} on per position, fitted "
          f"to {out['positions']:,} positions of the validation split ({out['windows']} windows of "
          f"{out['context']}); kept/born/split/merged/died count against the checkpoint before, matched by decoder "
          f"cosine >= {out['match']}")
    print(f"the features of {last['checkpoint']} that fire most often:")
    for f in strongest(last):
        print(f"  #{f['id']:<5} {f['density']:>6.1%}  {f['label']}")
    print(f"wrote {out['folder']} (an SAE per checkpoint in SAELens' layout, and features.json)", file=sys.stderr)
    return 0


def _features_arguments(sp) -> None:
    sp.add_argument("run_dir")
    sp.add_argument("--layer", type=int, help="the block whose output (residual stream) is read (default: the "
                                              "middle one, n_layer // 2)")
    sp.add_argument("--width", type=int, help="features in each SAE (default 4 x n_embd)")
    sp.add_argument("--k", type=int, help="features on per position, TopK (default 8)")
    sp.add_argument("--checkpoint", help="the checkpoints to read, comma-separated, such as step-000500,step-001000 "
                                         "(default: every one)")
    sp.add_argument("--positions", type=int, help="validation positions each SAE is fitted to (default 8192)")
    sp.add_argument("--steps", type=int, help="training steps of each SAE (default 1000)")
    sp.add_argument("--match", type=float, help="the decoder cosine at which features of two checkpoints are "
                                                "matched (default 0.7)")
    sp.add_argument("--json", action="store_true", help="print everything features.json holds")


FEATURES = Command("features", cmd_features, "features forming: a TopK sparse autoencoder on one layer for each "
                   "checkpoint (SAELens' layout), each feature's density, top contexts and label, and the features "
                   "born, split, merged and died between checkpoints; off the training process", _features_arguments)
