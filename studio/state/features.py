"""The Features tab's figures, without Qt: the features runs a run folder holds (`engine features` writes
features/layer-L-wN-kK/features.json, engine/probes/features.py), the command that makes one, what its output
lines say of its progress, and the rows the tab shows (a checkpoint's live features, densest first; the timeline
of features kept, born, split, merged and died)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from engine.probes.sae_defaults import WIDTH_PER_DIM
from engine.run.folder import FEATURES_DIR, FEATURES_FILE

WIDTHS_PER_DIM = (1, 2, 4, 8, 16)
"""The SAE widths offered, as features per residual dimension."""
SECONDS_PER_CHECKPOINT = 15
"""What one checkpoint costs at the default settings on the baby recipe's model (the SAE's 1000 steps), said
before the first is done; the seconds measured take over after it."""
EVENTS = (("continued", "kept"), ("born", "born"), ("split", "split"), ("merged", "merged"), ("regrouped", "regrouped"),
          ("died", "died"))
"""The timeline's columns: the engine's event name and the word shown (engine/probes/feature_timeline.py)."""
ROW = re.compile(r"^(step-\d+)\s.*\s(\d+(?:\.\d+)?)\s*$")
"""A checkpoint's row as `engine features` prints it once its SAE is done: its name first, its seconds last."""


@dataclass
class FeatureOptions:
    layer: int
    width: int
    steps: int | None = None
    """The SAE's training steps; None: the engine's default."""


def features_args(run_dir: Path, options: FeatureOptions) -> list[str]:
    """The engine command line (after `engine`) that makes the features of every checkpoint of the run."""
    args = ["features", str(run_dir), "--layer", str(options.layer), "--width", str(options.width)]
    return args + (["--steps", str(options.steps)] if options.steps else [])


def width_choices(n_embd: int) -> list[tuple[str, int]]:
    """(words, width) for each width offered."""
    return [(f"{m} × {n_embd} = {m * n_embd}" + (" (default)" if m == WIDTH_PER_DIM else ""), m * n_embd)
            for m in WIDTHS_PER_DIM]


def saved_features(run_dir: Path | None) -> list[dict]:
    """Every features.json of the run (each with its "folder"), by layer then width; an unreadable one is left out."""
    if run_dir is None:
        return []
    found = []
    for path in sorted((Path(run_dir) / FEATURES_DIR).glob(f"*/{FEATURES_FILE}")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("checkpoints"):
            found.append(data | {"folder": str(path.parent)})
    return sorted(found, key=lambda d: (d.get("layer", 0), d.get("width", 0), d.get("k", 0)))


def saved_for(saved: list[dict], layer: int, width: int) -> dict | None:
    """The saved features of this layer and width (the newest written, should several k have been tried)."""
    found = [d for d in saved if d.get("layer") == layer and d.get("width") == width]
    return max(found, key=lambda d: Path(d["folder"], FEATURES_FILE).stat().st_mtime) if found else None


def describe(data: dict) -> str:
    return f"layer {data['layer']}, {data['width']} features, {data['k']} on per position"


def checkpoint_done(line: str) -> tuple[str, float] | None:
    """(checkpoint, seconds) when `line` is the row `engine features` prints as a checkpoint's SAE is done."""
    m = ROW.match(line)
    return (m.group(1), float(m.group(2))) if m else None


def progress_words(done: list[float], total: int) -> str:
    """How far a features run is and what is left, from the seconds each checkpoint done took."""
    if not done:
        return (f"Finding features in {total} checkpoint{'s' * (total != 1)}: about {SECONDS_PER_CHECKPOINT} s per "
                f"checkpoint at the default settings (an SAE trained for each, off the training process)…")
    each = sum(done) / len(done)
    left = max(total - len(done), 0)
    return (f"{len(done)} of {total} checkpoints done, about {each:.0f} s each"
            + (f": about {left * each:.0f} s left…" if left else "; writing the results…"))


def entry_for(data: dict, checkpoint: str | None) -> tuple[dict, bool]:
    """The checkpoint's entry, or the newest when it has none (a checkpoint written after the features were
    found), and whether it is the one asked for."""
    entries = data["checkpoints"]
    found = [e for e in entries if e["checkpoint"] == checkpoint]
    return (found[0], True) if found else (entries[-1], False)


def live_features(entry: dict) -> list[dict]:
    """The checkpoint's features that fire in the sample, densest first."""
    return sorted((f for f in entry["features"] if f.get("density", 0) > 0), key=lambda f: (-f["density"], f["id"]))


def timeline_rows(data: dict) -> list[dict]:
    """A row a checkpoint: {checkpoint, step, explained, alive, and each EVENTS count (None at the first, which has
    no checkpoint before it to count against)}."""
    rows = []
    for e in data["checkpoints"]:
        counts = e.get("counts") or {}
        row = {"checkpoint": e["checkpoint"], "step": e["step"], "explained": e["explained"], "alive": e["alive"]}
        rows.append(row | {kind: counts.get(kind) if e.get("counts") else None for kind, _ in EVENTS})
    return rows
