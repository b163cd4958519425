"""Loading a run's model and tokenizer from a checkpoint, for generation, evaluation and inspection."""

from __future__ import annotations

from pathlib import Path

from engine.data.tokenizer import Tokenizer
from engine.errors import UserError
from engine.model.build import build_model, gpt_config_from_dict
from engine.runinfo import TOKENIZER_FILE
from engine.train import checkpoint as ckpt


def load_for_inference(run_dir: Path, checkpoint: str | None = None, device: str = "cpu"):
    """(model, tokenizer, checkpoint path) of a run, for generation, evaluation and inspection."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run folder not found: {run_dir}")
    ckpts = ckpt.list_checkpoints(run_dir)
    if checkpoint:
        path = Path(checkpoint) if Path(checkpoint).is_dir() else run_dir / "checkpoints" / checkpoint
        if not path.is_dir():
            raise UserError(f"no checkpoint {checkpoint!r} in {run_dir}; there are: "
                            f"{', '.join(c.name for c in ckpts) or 'none'}")
    elif ckpts:
        path = ckpts[-1].path
    else:
        raise UserError(f"{run_dir} has no checkpoint yet: train it first (checkpoints come at each evaluation)")
    meta = ckpt.read_meta(path)
    tok_file = path / TOKENIZER_FILE if (path / TOKENIZER_FILE).is_file() else run_dir / TOKENIZER_FILE
    tokenizer = Tokenizer.load(tok_file)
    model = build_model(gpt_config_from_dict(meta["model"]))
    ckpt.load_model_weights(model, path)
    model.to(device).eval()
    return model, tokenizer, path
