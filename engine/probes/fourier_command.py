"""`fourier` on the command line: a modular-addition run's key frequencies and progress measures, checkpoint by
checkpoint (engine/probes/grokking.py). engine/probes/commands.py lists it among the probe commands."""

from __future__ import annotations

import json
import sys

from engine.core.commands import Command
from engine.core.errors import UserError

HEADER = (f"{'checkpoint':<12}{'step':>7}{'train acc':>11}{'val acc':>9}{'train loss':>12}{'val loss':>10}"
          f"{'restricted':>12}{'excluded':>10}  own key frequencies")


def parse_keys(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        keys = [int(k) for k in text.replace(",", " ").split()]
    except ValueError:
        raise UserError(f"--keys takes frequencies as whole numbers separated by commas, such as 4,14,41; "
                        f"not {text!r}") from None
    if not keys:
        raise UserError("--keys is empty: give the frequencies, such as 4,14,41, or leave it out")
    return keys


def keys_text(keys: list[int], limit: int = 8) -> str:
    """The first `limit` frequencies, and how many there are when more: before grokking they are many."""
    shown = " ".join(map(str, keys[:limit]))
    return shown if len(keys) <= limit else f"{shown} ... ({len(keys)} in all)"


def as_json(table, keys: list[int], share: float, views) -> dict:
    """The view as `fourier --json` prints it and the inference worker answers it (the studio's Fourier tab)."""
    return {"p": table.p, "keys": keys, "share": share, "checkpoints": [
        {"checkpoint": v.name, "step": v.step, "norms": [round(float(x), 6) for x in v.norms],
         "own_keys": v.own_keys, **v.measures} for v in views]}


def cmd_fourier(args) -> int:
    from engine.probes.fourier import KEY_SHARE, key_share  # here, not at the top: the CLI starts without torch
    from engine.probes.grokking import fourier_views

    share = KEY_SHARE if args.share is None else args.share
    if not 0 < share <= 1:
        raise UserError(f"--share must be above 0 and at most 1, not {share}")
    keys = parse_keys(args.keys)
    table, keys, views = fourier_views(args.run_dir, keys=keys, share=share, checkpoint=args.checkpoint,
                                       warn=lambda text: print(f"warning: {text}", file=sys.stderr))
    if args.json:
        print(json.dumps(as_json(table, keys, share, views)))
        return 0
    chosen = "as asked (--keys)" if args.keys else f"those of {views[-1].name}, the fewest carrying {share:.0%}"
    print(f"a + b mod {table.p}: {int(table.train.sum())} training pairs, {int(table.val.sum())} held out")
    print(f"key frequencies {keys_text(keys, limit=12) or 'none'} ({chosen}; {key_share(views[-1].norms, keys):.0%}"
          f" of {views[-1].name}'s embedding norm)")
    print("restricted: the loss on held-out pairs with only the key frequencies' part of the logits kept; "
          "excluded: the loss on training pairs with that part removed\n")
    print(HEADER)
    for v in views:
        m = v.measures
        print(f"{v.name:<12}{v.step:>7}{m['train_accuracy']:>11.1%}{m['val_accuracy']:>9.1%}{m['train_loss']:>12.4f}"
              f"{m['val_loss']:>10.4f}{m['restricted_loss']:>12.4f}{m['excluded_loss']:>10.4f}  "
              f"{keys_text(v.own_keys)}")
    return 0


def _fourier_arguments(sp) -> None:
    sp.add_argument("run_dir")
    sp.add_argument("--checkpoint", help="read this checkpoint alone, such as step-002000 (default: every one)")
    sp.add_argument("--keys", help="the key frequencies to measure, such as 4,14,41 (default: those of the last "
                                   "checkpoint's embedding)")
    sp.add_argument("--share", type=float,
                    help="the share of the embedding's Fourier norm the key frequencies carry (default 0.9)")
    sp.add_argument("--json", action="store_true", help="print every checkpoint's norms and measures as JSON")


FOURIER = Command("fourier", cmd_fourier, "a modular-addition run's Fourier view: the numbers' embedding per "
                  "frequency, its key frequencies, and the restricted and excluded losses at each checkpoint",
                  _fourier_arguments)
