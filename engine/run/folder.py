"""What a run folder holds, by name, and its list of checkpoints: plain files, no config and no torch
(the config's validation reads a fine-tuning source's checkpoints through this)."""

from __future__ import annotations

import json
from pathlib import Path

from engine.core.errors import FolderNotConfig, UserError
from engine.core.text import engine_command

RUN_FILE = "run.toml"
EVENTS_FILE = "events.jsonl"
TOKENIZER_FILE = "tokenizer.json"
STDOUT_FILE = "stdout.jsonl"
"""What a trainer launched by the studio printed (its events before the run folder existed, then all)."""
STDERR_FILE = "stderr.log"
LOG_FILE = "train.log"
"""The events as readable lines (engine/run/humanlog.py)."""
LOCK_FILE = "lock"
"""pid, host and start time of the process that owns the run (engine/run/lock.py)."""
CONTROL_FILE = "control.json"
"""A pause, resume, stop or checkpoint request for the trainer (engine/run/control.py)."""
FEWSHOT_FILE = "fewshot.json"
"""Few-shot evaluations of the run: accuracy against the number of examples in the prompt, per task file and
checkpoint (engine/run/fewshot_results.py)."""
FEATURES_DIR = "features"
"""Sparse autoencoders of a layer's residual stream, one per checkpoint, with their features and timeline
(engine/probes/features_command.py): features/layer-L-wN-kK/{step-NNNNNN/ (SAELens' layout), features.json}."""
FEATURES_FILE = "features.json"
"""In each features/layer-L-wN-kK/: the settings, and per checkpoint its fit, feature cards and events."""
CONCEPTS_DIR = "concepts"
"""Linear probes of a concept, accuracy per layer and checkpoint (engine/probes/concept_command.py): NAME.json."""
CHECKPOINTS_DIR = "checkpoints"
"""One folder a checkpoint, step-NNNNNN, each holding the three files below."""
MODEL_FILE = "model.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
META_FILE = "meta.json"
"""Step, RNG, data position and metrics of a checkpoint."""
HF_WEIGHTS_FILE = "model.safetensors"
HF_TOKENIZER_FILE = "tokenizer.json"
"""An export's names in a transformers folder (engine/interop): what transformers reads, whatever a run calls its own."""


def checkpoints(run_dir: str | Path) -> list[tuple[str, int, float | None]]:
    """(name, step, validation loss) of a run's complete checkpoints, oldest first; reads no weights."""
    out = []
    for d in (Path(run_dir) / CHECKPOINTS_DIR).glob("step-*"):
        meta = meta_of_checkpoint(d)
        if "step" in meta and (d / MODEL_FILE).is_file():
            out.append((d.name, int(meta["step"]), meta.get("val_loss")))
    return sorted(out, key=lambda c: c[1])


def best_checkpoint(run_dir: str | Path) -> str | None:
    """The name of the checkpoint with the lowest validation loss (the newest if none recorded one)."""
    found = checkpoints(run_dir)
    scored = [c for c in found if c[2] is not None]
    return min(scored, key=lambda c: c[2])[0] if scored else found[-1][0] if found else None


def damaged_checkpoints(run_dir: str | Path) -> list[str]:
    """Checkpoint folders that checkpoints() skips: their meta.json (or weights file) is missing or unreadable."""
    good = {name for name, _, _ in checkpoints(run_dir)}
    return sorted(d.name for d in (Path(run_dir) / CHECKPOINTS_DIR).glob("step-*") if d.is_dir() and d.name not in good)


def meta_of_checkpoint(path: Path) -> dict:
    try:
        return json.loads((Path(path) / META_FILE).read_text())
    except (OSError, ValueError):
        return {}


def make_writable_folder(run_dir: Path) -> None:
    """Make the run folder and prove it can be written, or say in words why not."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise UserError(f"cannot write the run folder {run_dir}: {e.strerror or e}; choose another "
                        f"train.out_dir or free the disk") from None


def folder_as_config(e: FolderNotConfig) -> UserError:
    """A folder given as a config: a run folder's is continued with `resume`, which the message says."""
    if not (Path(e.path) / RUN_FILE).is_file():
        return e
    return UserError(f"{e.path} is a folder, not a config file: it is a run folder; continue it with "
                     f"`{engine_command()} resume {e.path}`")


def require_run_folder(path: str | Path) -> Path:
    """`path` as a run folder to read, or a UserError that says which of missing, a file, or a folder that
    is no run it is (a run that has not trained yet passes: the command that needs a checkpoint says so)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"run folder not found: {path}")
    if not path.is_dir():
        raise UserError(f"{path} is a file, not a run folder: name the folder a run was trained into")
    if not any((path / name).exists() for name in (RUN_FILE, CHECKPOINTS_DIR, EVENTS_FILE, STDOUT_FILE)):
        raise UserError(f"{path} is not a run folder (it has no {RUN_FILE}, events or checkpoints): name the "
                        f"folder a run was trained into (its train.out_dir)")
    return path
