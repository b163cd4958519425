"""The numbers every tracker gets, named alike: train/loss, train/lr, train/grad_norm, train/tokens_per_s,
val/loss, val/ppl, val/accuracy, ..., test/loss, test/bleu, ... (a run with a test split, at its end), and
the config flattened as parameters (model.n_layer = 4)."""

from __future__ import annotations

import math
from typing import Any

from engine.run.events import Event

STEP_KEYS = ("loss", "lr", "grad_norm", "tokens_per_s", "mfu")


def scalars(event: Event) -> dict[str, float]:
    """The finite numbers of a step or eval event under the trackers' names; {} for other events."""
    if event.type == "step":
        named = {f"train/{k}": event.get(k) for k in STEP_KEYS}
    elif event.type == "eval":
        named = {"val/loss": event.get("val_loss"), "train/eval_loss": event.get("train_loss")}
        for key, value in event.fields.items():
            if key.startswith("val_") and key != "val_loss":
                named[f"val/{key[4:]}"] = value
    elif event.type == "finished" and event.get("test"):  # the test split, scored once at the end
        named = {f"test/{key}": value for key, value in event["test"].items()}
    else:
        return {}
    return {k: float(v) for k, v in named.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


def flat_params(config: dict[str, Any]) -> dict[str, str]:
    """section.key -> value as text, for the trackers' parameter tables (lists joined by commas)."""
    out = {}
    for section, values in config.items():
        if isinstance(values, dict):
            for key, value in values.items():
                out[f"{section}.{key}"] = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return out
