"""The event protocol between the trainer and whoever watches it (CLI, studio, scripts).

One JSON object per line: {"v": 1, "type": ..., "time": ..., "step": ...} plus the type's fields.
The trainer appends each event to the run's `events.jsonl` (flushed at once) and may echo it to
stdout. Readers skip unknown types and a torn last line, so an old studio reads a new run and a
crash never corrupts history.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

PROTOCOL_VERSION = 1

# type -> the fields it always carries (others may be added; readers ignore what they do not know)
EVENT_TYPES: dict[str, tuple[str, ...]] = {
    "prepare": ("stage", "message"),           # corpus loading, tokenizer training, encoding progress
    "started": ("run_dir", "config", "n_params", "device", "world_size", "resumed_from"),
    "step": ("step", "loss", "lr", "grad_norm", "tokens_per_s", "mfu", "elapsed", "eta"),
    # language models add val_ppl; masked LM val_accuracy and val_nsp_accuracy; classifiers val_accuracy,
    # val_macro_f1, val_confusion (rows = true label) and labels; every model adds head_scores
    # ({score: [layer][head]}, engine/probes/head_scores.py), a causal LM icl_score (engine/probes/icl.py)
    "eval": ("step", "train_loss", "val_loss"),
    "phase_change": ("step", "score_before", "score_after", "layer", "head"),  # the top induction score's
    # steepest rise so far, at this evaluation; a later, steeper one supersedes it
    "finetune": ("source", "method", "new", "dropped"),  # where a fine-tuning run started from
    "sample": ("step", "prompt", "text"),
    "attention": ("step", "path"),
    "checkpoint": ("step", "path", "best"),
    "status": ("state",),                       # running | paused | stopping
    "warning": ("kind", "message"),             # loss_spike | nan_loss | clipped | rollback | ...
    "diagnosis": ("step", "cause", "advice", "message"),  # a loss spike's likely cause (engine/train/diagnosis.py)
    # and the numbers read at it: readings {lr, lr_median, grad_norm, logit_max, entropy, their befores, ...}
    "intervention": ("step", "action", "target", "source", "message"),  # freeze | zero | reinit of a part, from
    # the config or asked for live (engine/train/intervening.py)
    "finished": ("step", "reason", "best_val_loss", "elapsed"),  # and time_spent: {evaluation, samples,
    # checkpoints: seconds} outside the training steps; peak_memory: bytes the model, its training and
    # evaluation took at their peak (engine/runtime/peak_memory.py), null where unknown
    "error": ("kind", "message"),               # config | data | oom | disk | crash
}


@dataclass
class Event:
    type: str
    step: int | None = None
    time: float = field(default_factory=time.time)
    fields: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    def to_json(self) -> str:
        body = {"v": PROTOCOL_VERSION, "type": self.type, "time": round(self.time, 3)}
        if self.step is not None:
            body["step"] = self.step
        body.update({k: _plain(v) for k, v in self.fields.items() if k not in ("v", "type", "time", "step")})
        return json.dumps(body, ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Event:
        fields = {k: v for k, v in d.items() if k not in ("v", "type", "time", "step")}
        return cls(type=d["type"], step=d.get("step"), time=d.get("time", 0.0), fields=fields)


def parse_line(line: str) -> Event | None:
    """An event from one line, or None for a torn, foreign or unknown line."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        d = json.loads(line)
    except ValueError:
        return None
    if not isinstance(d, dict) or d.get("type") not in EVENT_TYPES or not isinstance(d.get("v"), int):
        return None
    return Event.from_dict(d)


def read_events(path: str | Path) -> list[Event]:
    """All readable events of a run; a missing file is an empty history."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return [e for e in map(parse_line, f) if e is not None]
    except FileNotFoundError:
        return []


class EventFollower:
    """Reads new complete lines of a growing events file; keeps a partial last line for next time."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._offset = 0
        self._partial = b""

    def skip_to_end(self) -> None:
        """Ignore what the file holds now (it was read some other way); follow only what comes next."""
        try:
            self._offset = self.path.stat().st_size
        except FileNotFoundError:
            self._offset = 0
        self._partial = b""

    def poll(self, max_bytes: int = 8 << 20) -> list[Event]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                chunk = f.read(max_bytes)
        except FileNotFoundError:
            return []
        if not chunk:
            return []
        self._offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()
        return [e for e in (parse_line(x.decode("utf-8", "replace")) for x in lines) if e is not None]


class EventWriter:
    """Appends events durably to a run's events file and optionally echoes them to a stream."""

    FSYNC_EVERY_S = 2.0

    def __init__(self, path: str | Path | None = None, *, echo: TextIO | None = None):
        self.path = Path(path) if path else None
        self.echo = echo
        self.listeners: list = []
        """Callables that receive each Event after it is written (human-readable logs, tests)."""
        self._file = None
        self._last_sync = 0.0
        if self.path is not None:
            self.attach(self.path)

    def attach(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "ab")
        self._seal_torn_tail()

    def emit(self, type: str, step: int | None = None, **fields: Any) -> Event:
        event = Event(type=type, step=step, fields=fields)
        line = event.to_json()
        if self._file is not None:
            self._file.write(line.encode("utf-8") + b"\n")
            self._file.flush()
            now = time.monotonic()
            if type != "step" or now - self._last_sync > self.FSYNC_EVERY_S:
                os.fsync(self._file.fileno())
                self._last_sync = now
        if self.echo is not None:
            try:
                self.echo.write(line + "\n")
                self.echo.flush()
            except (BrokenPipeError, ValueError):  # the reader went away; the file still has it
                self.echo = None
        for listener in self.listeners:
            listener(event)
        return event

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.flush()
                os.fsync(self._file.fileno())
            finally:
                self._file.close()
                self._file = None

    def _seal_torn_tail(self) -> None:
        """After a crash mid-line, start on a fresh line so the next event is not glued to the torn one."""
        assert self.path is not None
        size = self.path.stat().st_size
        if size:
            with open(self.path, "rb") as f:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    self._file.write(b"\n")
                    self._file.flush()


def _plain(v: Any) -> Any:
    if isinstance(v, float):
        return None if not math.isfinite(v) else round(v, 6)
    if isinstance(v, Path):
        return str(v)
    if hasattr(v, "item") and callable(v.item):
        return _plain(v.item())
    return v
