"""Loading a run's model and tokenizer from a checkpoint, for generation, evaluation and inspection.

A LoRA checkpoint holds only adapters and heads: the run's `base/` folder (a checkpoint-format copy of
the model it started from) is loaded first, the adapters on top, and then merged into plain weights.
"""

from __future__ import annotations

import sys
from pathlib import Path

from engine.core.errors import UserError
from engine.data.tokenizer import Tokenizer
from engine.model import checkpoint as ckpt
from engine.model.build import build_model, gpt_config_from_dict
from engine.model.lora import apply_lora, merge_lora
from engine.run.folder import CHECKPOINTS_DIR, TOKENIZER_FILE, best_checkpoint, damaged_checkpoints, require_run_folder

BASE_DIR = "base"


def resolve_checkpoint(run_dir: Path, checkpoint: str | None = None, warn=None) -> Path:
    """The named checkpoint; "best" (the default: the lowest validation loss) or "latest" (the newest), judged
    whole from its files' headers (pick_checkpoint with no loader). `warn(text)` hears of those passed over."""
    return pick_checkpoint(run_dir, checkpoint, warn)[0]


def pick_checkpoint(run_dir: Path, checkpoint: str | None = None, warn=None, load=None):
    """The one rule for which checkpoint a command uses: the named one, "best" or "latest". `load(path)` reads
    a candidate and raises ckpt.BadCheckpoint when it is damaged or its weights are not finite (without it,
    only the files' headers and sizes are judged). A bad best or latest is passed over for the newest good one,
    with a warning naming both; a bad named one is refused, naming the newest good one; when none is good the
    refusal says why in one sentence. Returns (path, what load returned)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run folder not found: {run_dir}")
    ckpts = ckpt.list_checkpoints(run_dir)
    checkpoint = checkpoint or "best"
    if checkpoint in ("best", "latest"):
        chosen = (best_checkpoint(run_dir) if checkpoint == "best" else ckpts[-1].name) if ckpts else None
        damaged = [d for d in damaged_checkpoints(run_dir) if not ckpts or d > ckpts[-1].name]
        if damaged and warn:
            warn(f"checkpoint {', '.join(damaged)} is damaged (its meta.json or weights are missing or unreadable), "
                 f"so its weights are not used: " + (f"using {chosen}, the {checkpoint} intact one" if chosen else
                                                     "there is no intact checkpoint"))
        if chosen is None:
            raise UserError(f"{run_dir} has no checkpoint yet: train it first (checkpoints come at each evaluation)")
        first = run_dir / CHECKPOINTS_DIR / chosen
    else:
        first = Path(checkpoint) if Path(checkpoint).is_dir() else run_dir / CHECKPOINTS_DIR / checkpoint
        if not first.is_dir():
            raise UserError(f"no checkpoint {checkpoint!r} in {run_dir}; there are: "
                            f"{', '.join(c.name for c in ckpts) or 'none'} (or best, latest)")
    others = [c.path for c in reversed(ckpts) if c.path.resolve() != first.resolve()]
    bad: list[tuple[str, str]] = []  # (name, why), in the order tried
    for path in [first, *others]:
        try:
            why = ckpt.damage(path) if load is None else None
            if why:
                raise ckpt.BadCheckpoint(f"checkpoint {path.name} is damaged: {why}")
            loaded = load(path) if load is not None else None
        except ckpt.BadCheckpoint as e:
            bad.append((path.name, str(e)))
            continue
        if path == first:
            return path, loaded
        if checkpoint not in ("best", "latest"):
            raise UserError(f"{bad[0][1]}; the newest good checkpoint is {path.name}: ask for it instead "
                            f"(--checkpoint {path.name})")
        if warn:
            warn(f"the {checkpoint} checkpoint {first.name} cannot be used: {bad[0][1]}; using {path.name}, the "
                 f"newest good one")
        return path, loaded
    more = f"; no other checkpoint of {run_dir.name} is good either ({', '.join(n for n, _ in bad[1:])})" \
        if len(bad) > 1 else ""
    raise UserError(f"{bad[0][1]}{more}")


def model_from_checkpoint(path: Path, run_dir: Path | None = None):
    """(model on the CPU in eval mode, checkpoint meta); LoRA adapters merged into the weights."""
    path = Path(path)
    meta = ckpt.read_meta(path)
    if "model" not in meta:
        raise UserError(f"{path} has no model description in its meta.json: not a model checkpoint")
    model = build_model(gpt_config_from_dict(meta["model"]))
    lora = meta.get("lora")
    if lora:
        base = Path(run_dir or path.parent.parent) / BASE_DIR
        if not (base / ckpt.META_FILE).is_file():
            raise UserError(f"{path.name} holds LoRA adapters but the run's base model ({base}) is missing")
        ckpt.load_model_weights(model, base, partial=True)
        apply_lora(model, targets=lora["targets"], rank=lora["rank"], alpha=lora["alpha"], dropout=0.0)
        ckpt.load_model_weights(model, path, partial=True)
        merge_lora(model)
    else:
        ckpt.load_model_weights(model, path)
    return model.eval(), meta


def load_for_inference(run_dir: Path, checkpoint: str | None = None, device: str = "cpu", warn=None):
    """(model, tokenizer, checkpoint path) of a run, for generation, evaluation and inspection."""
    run_dir = Path(run_dir)
    path, (model, meta) = pick_checkpoint(run_dir, checkpoint, warn, load=lambda p: model_from_checkpoint(p, run_dir))
    tok_file = path / TOKENIZER_FILE if (path / TOKENIZER_FILE).is_file() else run_dir / TOKENIZER_FILE
    tokenizer = Tokenizer.load(tok_file)
    model.labels = meta.get("labels") or []
    model.to(device).eval()
    return model, tokenizer, path


def load_announced(args, device: str = "cpu"):
    """(model, tokenizer, checkpoint) of the run named on the command line (`args.run_dir`, `args.checkpoint`),
    saying which checkpoint it is and which damaged ones were passed over."""
    require_run_folder(args.run_dir)
    kind, ckpts = args.checkpoint or "best", ckpt.list_checkpoints(Path(args.run_dir))
    wanted = (best_checkpoint(Path(args.run_dir)) if kind == "best" else ckpts[-1].name) if ckpts else None
    model, tokenizer, path = load_for_inference(Path(args.run_dir), args.checkpoint, device=device,
                                                warn=lambda text: print(f"warning: {text}", file=sys.stderr))
    which = {None: "the best by validation loss; --checkpoint latest takes the newest", "best": "the best by "
             "validation loss", "latest": "the newest"}.get(args.checkpoint, "as asked")
    if kind in ("best", "latest") and wanted and path.name != wanted:  # a fallback is not the best: say what it is
        which = f"the newest good one, in place of the {kind} one, {wanted}"
    print(f"using checkpoint {path.name} ({which})", file=sys.stderr)
    return model, tokenizer, path
