"""A run's few-shot evaluations as a file in its folder (FEWSHOT_FILE), no torch: `engine fewshot` writes one
entry per task file and checkpoint (a later evaluation of the same pair replaces it), and the studio can read
them to plot accuracy against the number of examples in the prompt.

An entry: {"task": name, "path": the task file, "kind": "choice" | "exact", "checkpoint", "step", "seed",
"rows": rows scored, "shots": [{"k", "accuracy", "acc_norm" (multiple choice only), "rows"}, ...]}.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.core.tomlio import write_atomic
from engine.run.folder import FEWSHOT_FILE


def read_fewshot(run_dir: str | Path) -> list[dict]:
    """The run's evaluations, oldest first; none when the file is missing or unreadable."""
    try:
        data = json.loads((Path(run_dir) / FEWSHOT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    entries = data.get("evaluations") if isinstance(data, dict) else None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def record_fewshot(run_dir: str | Path, entry: dict) -> Path:
    """Add `entry` to the run's file, in place of an earlier one of the same task file and checkpoint."""
    same = (entry.get("path"), entry.get("checkpoint"))
    kept = [e for e in read_fewshot(run_dir) if (e.get("path"), e.get("checkpoint")) != same]
    path = Path(run_dir) / FEWSHOT_FILE
    write_atomic(path, json.dumps({"evaluations": [*kept, entry]}, indent=1) + "\n")
    return path
