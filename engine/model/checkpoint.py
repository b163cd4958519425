"""Checkpoints: self-describing folders written atomically, in safetensors and JSON (never pickle).

checkpoints/step-000500/  model.safetensors, optimizer.safetensors, meta.json, tokenizer.json
A checkpoint is first written to a hidden temporary folder, every file fsynced, then renamed into
place; meta.json is the last file written, so a folder without it is never taken as a checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from engine.core.errors import UserError
from engine.core.tomlio import fsync_dir
from engine.run.folder import CHECKPOINTS_DIR, META_FILE, MODEL_FILE, OPTIMIZER_FILE, checkpoints

MAX_HEADER = 100 << 20  # safetensors' own limit on the JSON header
ASIDE_PREFIX = "damaged-"  # a checkpoint found bad is renamed so: kept for a look, never listed or loaded


class BadCheckpoint(UserError):
    """A checkpoint whose files are damaged (unreadable, truncated, not safetensors) or whose weights are not
    finite: loaders pass over it to an earlier one, and retention never keeps it in a good one's place."""


@dataclass
class CheckpointInfo:
    path: Path
    step: int
    val_loss: float | None

    @property
    def name(self) -> str:
        return self.path.name


def checkpoint_dir(run_dir: Path) -> Path:
    return Path(run_dir) / CHECKPOINTS_DIR


def model_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict with tied weights stored once (safetensors refuses shared memory)."""
    sd = model.state_dict()
    seen: set[tuple] = set()
    out = {}
    for name, t in sd.items():
        key = (t.data_ptr(), tuple(t.shape), t.dtype)
        if t.numel() and key in seen:
            continue
        seen.add(key)
        out[name] = t.detach().cpu().contiguous()
    return out


def model_tensors_from(full: dict[str, torch.Tensor], *, tied: set[str]) -> dict[str, torch.Tensor]:
    """A gathered full state dict (sharded training) in the checkpoint's form: tied copies left out."""
    return {k: v.detach().cpu().contiguous() for k, v in full.items() if k not in tied}


def save_checkpoint(run_dir: Path, step: int, model: torch.nn.Module, *, meta: dict,
                    optimizer_tensors: dict[str, torch.Tensor] | None = None,
                    extra_files: dict[str, str] | None = None, tensors: dict[str, torch.Tensor] | None = None) -> Path:
    """`tensors` replaces the model's full state (a LoRA run stores only its adapters and heads)."""
    root = checkpoint_dir(run_dir)
    root.mkdir(parents=True, exist_ok=True)
    return write_folder(root / f"step-{step:06d}", tensors if tensors is not None else model_tensors(model),
                        meta={"step": step, **meta}, optimizer_tensors=optimizer_tensors, extra_files=extra_files)


def write_folder(final: Path, tensors: dict[str, torch.Tensor], *, meta: dict,
                 optimizer_tensors: dict[str, torch.Tensor] | None = None,
                 extra_files: dict[str, str] | None = None) -> Path:
    """Write a checkpoint-format folder atomically: a hidden temporary folder, fsynced, renamed."""
    root = final.parent
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        save_file(tensors, tmp / MODEL_FILE, metadata={"format": "attention-studio"})
        if optimizer_tensors is not None:
            save_file(optimizer_tensors, tmp / OPTIMIZER_FILE)
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        (tmp / META_FILE).write_text(json.dumps(meta, indent=1, allow_nan=False))
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        fsync_dir(tmp)
        if final.exists():
            old = root / f".old-{final.name}-{os.getpid()}"
            os.replace(final, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, final)
        fsync_dir(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def list_checkpoints(run_dir: Path) -> list[CheckpointInfo]:
    """Complete checkpoints, oldest first; half-written temporary folders are ignored."""
    return [CheckpointInfo(checkpoint_dir(run_dir) / name, step, val) for name, step, val in checkpoints(run_dir)]


def read_meta(path: Path) -> dict:
    try:
        return json.loads((Path(path) / META_FILE).read_text())
    except FileNotFoundError:
        raise UserError(f"{path} is not a checkpoint: it has no {META_FILE}") from None
    except ValueError:
        raise BadCheckpoint(f"{path}/{META_FILE} is corrupt (not JSON)") from None


def load_tensors(path: Path, *, device: str = "cpu") -> dict[str, torch.Tensor]:
    """Read a safetensors file; anything else (a pickle, a truncated file) is refused, never unpickled."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint file missing: {path}")
    kind = file_kind(path)
    if kind == "pickle":
        raise BadCheckpoint(f"{path.name} is a pickle/zip file, not safetensors: it is refused and never unpickled")
    if kind != "safetensors":
        raise BadCheckpoint(f"{path.parent.name}/{path.name} is corrupt or truncated (not a safetensors file)")
    try:
        return load_file(str(path), device=device)
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise BadCheckpoint(f"{path.parent.name}/{path.name} is corrupt or truncated ({str(e).splitlines()[0][:100]})")\
            from None


def file_kind(path: Path) -> str:
    """"safetensors" when the file has that structure: an 8-byte little-endian header length that fits the
    file, then that many bytes of a JSON object. Else "pickle" for a pickle or zip (torch.save's formats),
    else "unknown". Only the structure counts: a header length may begin with any byte, 0x80 or "PK" too."""
    with open(path, "rb") as f:
        head = f.read(8)
        size = os.fstat(f.fileno()).st_size
        n = int.from_bytes(head, "little") if len(head) == 8 else 0
        if 2 <= n <= min(size - 8, MAX_HEADER):
            try:
                header = json.loads(f.read(n).decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                header = None
            if isinstance(header, dict):
                return "safetensors"
    if head[:1] == b"\x80" or head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "pickle"
    return "unknown"


def load_model_weights(model: torch.nn.Module, path: Path, *, partial: bool = False) -> None:
    """Load a checkpoint's weights, refusing any of another shape; `partial` allows some to be absent
    (a LoRA checkpoint holds only adapters and heads)."""
    tensors = load_tensors(Path(path) / MODEL_FILE)
    expected = model.state_dict()
    for name, t in tensors.items():
        if name not in expected:
            raise UserError(f"checkpoint {Path(path).name} has a weight {name!r} this model lacks: it was made "
                            f"by a different model shape")
        if tuple(expected[name].shape) != tuple(t.shape):
            raise UserError(f"checkpoint {Path(path).name} is for a different model shape: {name} is "
                            f"{tuple(t.shape)}, this model has {tuple(expected[name].shape)}")
    missing = [n for n in expected if n not in tensors and not _is_tied_copy(model, n)]
    if missing and not partial:
        raise UserError(f"checkpoint {Path(path).name} lacks {len(missing)} weights (e.g. {missing[0]}): "
                        f"a different model shape or a damaged file")
    if not all_finite(tensors.values()):
        raise BadCheckpoint(f"checkpoint {Path(path).name} holds weights that are not finite (NaN or inf): the run "
                            f"had diverged when it was saved")
    model.load_state_dict(tensors, strict=False)


def all_finite(tensors) -> bool:
    """No NaN or inf in any floating-point tensor; one device sync in all."""
    flags = [torch.isfinite(t if t.element_size() > 1 else t.float()).all() for t in tensors
             if t.is_floating_point() and t.numel()]
    return bool(torch.stack(flags).all()) if flags else True


def damage(path: Path) -> str | None:
    """Why a checkpoint folder is damaged, from its meta.json and its files' safetensors headers and sizes
    (a truncated file is caught without reading its tensors), or None when it looks whole."""
    path = Path(path)
    try:
        meta = json.loads((path / META_FILE).read_text())
    except (OSError, ValueError):
        return f"its {META_FILE} is missing or corrupt"
    if not isinstance(meta, dict) or "step" not in meta:
        return f"its {META_FILE} has no step"
    for name in (MODEL_FILE, OPTIMIZER_FILE):
        if name == OPTIMIZER_FILE and not (path / name).exists():
            continue
        try:
            whole = _whole_safetensors(path / name)
        except OSError:
            whole = False
        if not whole:
            return f"its {name} is missing, truncated or not safetensors"
    return None


def _whole_safetensors(path: Path) -> bool:
    """The header parses and its tensors end exactly where the file does."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        n = int.from_bytes(f.read(8), "little") if size >= 8 else 0
        if not 2 <= n <= min(size - 8, MAX_HEADER):
            return False
        try:
            header = json.loads(f.read(n).decode("utf-8"))
            end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0)
        except (UnicodeDecodeError, ValueError, TypeError, KeyError, IndexError, AttributeError):
            return False
    return 8 + n + end == size


def set_aside(path: Path) -> Path:
    """Rename a bad checkpoint to damaged-step-NNNNNN (-2, -3 ... if taken): no longer listed, loaded or counted."""
    path = Path(path)
    target, n = path.with_name(ASIDE_PREFIX + path.name), 1
    while target.exists():
        n += 1
        target = path.with_name(f"{ASIDE_PREFIX}{path.name}-{n}")
    os.replace(path, target)
    return target


def _is_tied_copy(model: torch.nn.Module, name: str) -> bool:
    return name in ("lm_head.weight", "mlm_decoder.weight") and getattr(model.config, "tie_weights", False)


def prune_checkpoints(run_dir: Path, *, keep_last: int, keep: set[Path]) -> list[str]:
    """Delete all but the newest `keep_last` good checkpoints and those in `keep` (the best). One that would be
    kept but is damaged is set aside (renamed damaged-step-...) and not counted, so it never takes a good one's
    place; returns what was set aside, in words."""
    aside, kept = [], 0
    for c in reversed(list_checkpoints(run_dir)):
        if kept >= keep_last and c.path not in keep:
            shutil.rmtree(c.path, ignore_errors=True)
            continue
        why = damage(c.path)
        if why:
            aside.append(f"{c.name} ({why}) was set aside as {set_aside(c.path).name}")
        elif kept < keep_last:
            kept += 1
    for stale in checkpoint_dir(run_dir).glob(".tmp-*"):  # .tmp-step-000100-PID
        if not _pid_alive(stale.name.rsplit("-", 1)[-1]):
            shutil.rmtree(stale, ignore_errors=True)
    return aside


def _pid_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
