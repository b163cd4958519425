"""Features forming: a TopK SAE (engine/probes/sae.py) on one layer's residual stream for each checkpoint of a run,
over the same windows of its own validation tokens, each after the first continued from the one before
(FOLLOW_LR) and saved in SAELens' layout; every feature's card (engine/probes/feature_cards.py); and the timeline
of features born, split, merged and died between checkpoints (engine/probes/feature_timeline.py).

It runs off the training process, reading checkpoints (`engine features RUN`), so training is never slowed;
run it again as new checkpoints come. Everything lands in the run folder:

    features/layer-L-wN-kK/step-NNNNNN/   cfg.json, sae_weights.safetensors (SAELens loads the folder)
    features/layer-L-wN-kK/features.json  the settings, and per checkpoint: fit, cards, events since the one before
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.core.errors import UserError
from engine.core.tomlio import write_atomic
from engine.model import checkpoint as ckpt
from engine.model.build import gpt_config_from_dict
from engine.probes.feature_cards import feature_cards
from engine.probes.feature_timeline import MATCH, counts, transitions
from engine.probes.residuals import (
    POSITIONS,
    check_layer,
    chosen_checkpoints,
    each_model,
    resid_name,
    residuals,
    validation_tokens,
    windows,
)
from engine.probes.sae import train_sae
from engine.probes.sae_defaults import STEPS, WIDTH_PER_DIM, K
from engine.probes.sae_files import save_sae
from engine.run.folder import FEATURES_DIR, FEATURES_FILE, require_run_folder

FOLLOW_LR = 5e-4
"""Each checkpoint's SAE after the first starts from the one before and trains at this learning rate (a quarter
of a fresh SAE's), as SAE-Track does (Xu et al. 2024): a feature keeps its direction unless the model's
activations move it. Independently trained SAEs share few features even on the same activations (on the baby
recipe's layer 2 at step 500, two seeds keep 83 of about 400 live ones at cosine 0.7), so matching them would
measure the SAEs' noise; an SAE continued this way on the very same activations keeps 367 of 413, 46 die and 54
are born (the timeline's floor), against 261 kept, 102 died and 168 born from step 250 to 500."""


@dataclass
class Settings:
    layer: int | None = None
    """Which block's output (h.L.hook_resid_post); None: the middle one, n_layer // 2."""
    width: int | None = None
    """Features in each SAE; None: WIDTH_PER_DIM x n_embd."""
    k: int = K
    positions: int = POSITIONS
    steps: int = STEPS
    match: float = MATCH
    checkpoints: str | None = None
    """Comma-separated checkpoint names; None: every one."""


def features_folder(run_dir: Path, layer: int, width: int, k: int) -> Path:
    return Path(run_dir) / FEATURES_DIR / f"layer-{layer}-w{width}-k{k}"


def resolve(settings: Settings, model_meta: dict) -> Settings:
    """The settings with their defaults filled from the model's shape, each checked: a bad one is refused."""
    shape = gpt_config_from_dict(model_meta)
    layer = shape.n_layer // 2 if settings.layer is None else settings.layer
    check_layer(layer, shape.n_layer)
    width = WIDTH_PER_DIM * shape.n_embd if settings.width is None else settings.width
    if width < 1:
        raise UserError(f"--width must be at least 1, not {width}")
    if not 1 <= settings.k <= width:
        raise UserError(f"--k must be between 1 and the width ({width}), not {settings.k}")
    if settings.positions < 2 or settings.steps < 1:
        raise UserError("--positions must be at least 2 and --steps at least 1")
    if not 0 < settings.match <= 1:
        raise UserError(f"--match is a cosine above 0 and at most 1, not {settings.match}")
    return Settings(layer, width, settings.k, settings.positions, settings.steps, settings.match,
                    settings.checkpoints)


def run_features(run_dir: str | Path, settings: Settings, *, say: Callable[[str], None] = lambda text: None) -> dict:
    """Train and describe an SAE for each chosen checkpoint; write them and features.json; return its contents."""
    run_dir = require_run_folder(run_dir)
    found = chosen_checkpoints(run_dir, settings.checkpoints)
    s = resolve(settings, ckpt.read_meta(found[-1].path).get("model") or {})
    tokenizer, val, context = validation_tokens(run_dir)
    rows = windows(val, context, s.positions)
    ids = sorted({int(i) for i in rows.flat})
    strings = dict(zip(ids, tokenizer.token_strings(ids)))
    folder = features_folder(run_dir, s.layer, s.width, s.k)
    name = resid_name(s.layer)
    out = {"layer": s.layer, "hook_name": name, "width": s.width, "k": s.k, "positions": int(rows.size),
           "windows": int(rows.shape[0]), "context": int(rows.shape[1]), "match": s.match, "steps": s.steps,
           "follow_lr": FOLLOW_LR, "checkpoints": []}
    before = None  # the previous checkpoint's (SAE, live features)
    for c, model in each_model(run_dir, found):
        started = time.perf_counter()
        acts = residuals(model, rows, [name])[name].flatten(0, 1)  # (n * T, C)
        fit = train_sae(acts, s.width, s.k, steps=s.steps, **({} if before is None else
                                                             {"start": before[0], "lr": FOLLOW_LR}))
        save_sae(folder / c.name, fit.sae, hook_name=name, layer=s.layer, model_name=run_dir.name,
                 context_size=int(rows.shape[1]), dataset=f"{run_dir.name} validation split")
        live = fit.density > 0
        events = None if before is None else transitions(before[0].W_dec, fit.sae.W_dec, before[1], live,
                                                         match=s.match)
        entry = {"checkpoint": c.name, "step": c.step, "explained": round(fit.explained, 4),
                 "alive": int(live.sum()), "dead": fit.dead, "events": events,
                 "counts": None if events is None else counts(events),
                 "features": feature_cards(fit.sae, acts, rows, strings)}
        entry["seconds"] = round(time.perf_counter() - started, 2)
        out["checkpoints"].append(entry)
        before = (fit.sae, live)
        say(line(entry))
    if not out["checkpoints"]:
        raise UserError(f"no checkpoint of {run_dir} could be read")
    write_atomic(folder / FEATURES_FILE, json.dumps(out, ensure_ascii=False))
    out["folder"] = str(folder)
    return out


HEADER = (f"{'checkpoint':<14}{'step':>7}{'explained':>11}{'alive':>7}{'dead':>6}{'kept':>6}{'born':>6}"
          f"{'split':>7}{'merged':>8}{'died':>6}{'seconds':>9}")


def line(entry: dict) -> str:
    """One checkpoint's row under HEADER; the events count against the checkpoint before it."""
    n = entry["counts"] or {}
    widths = (("continued", 6), ("born", 6), ("split", 7), ("merged", 8), ("died", 6))
    events = "".join(f"{n.get(kind, '-'):>{w}}" for kind, w in widths)
    return (f"{entry['checkpoint']:<14}{entry['step']:>7}{entry['explained']:>11.1%}{entry['alive']:>7}"
            f"{entry['dead']:>6}{events}{entry['seconds']:>9.1f}")


def strongest(entry: dict, n: int = 5) -> list[dict]:
    """The checkpoint's live features that fire most often, densest first."""
    return sorted((f for f in entry["features"] if f["density"] > 0), key=lambda f: -f["density"])[:n]
