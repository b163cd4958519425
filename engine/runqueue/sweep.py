"""A sweep: one base config and the fields to vary, as a grid (every combination) or a random search
(`samples` points, each field drawn from its list or range). Every point is a normal run config named
SWEEP-NNN whose [meta] records the sweep and the swept fields, so the Runs page can group and plot it.

    name = "lr-width"
    base = "run.toml"            # read from this file's folder
    method = "grid"              # grid | random
    samples = 8                  # random only
    seed = 0
    [fields]
    "train.lr" = [1e-3, 3e-4, 1e-4]
    "model.n_embd" = [64, 128]
    "train.weight_decay" = { min = 0.0, max = 0.2 }      # random only; log = true for a log scale
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config import schema as config_mod
from engine.config.schema import RunConfig
from engine.core.errors import ConfigError, UserError
from engine.core.tomlio import read_toml
from engine.plan.preflight import check

METHODS = ("grid", "random")
MAX_POINTS = 1000


@dataclass
class Sweep:
    name: str
    base: RunConfig
    method: str
    fields: dict[str, Any]
    samples: int = 8
    seed: int = 0


def load_sweep(path: str | Path, overrides: list[str] | None = None) -> Sweep:
    """The sweep file at `path`; every problem of the file and of its base config is listed at once."""
    path = Path(path)
    data = read_toml(path)
    problems, base = [], None
    unknown = set(data) - {"name", "base", "method", "samples", "seed", "fields"}
    if unknown:
        problems.append(f"unknown sweep key(s) {', '.join(sorted(unknown))} (name, base, method, samples, seed, "
                        f"[fields])")
    if not data.get("base") or not isinstance(data["base"], str):
        problems.append("base names the run config every point starts from (base = \"run.toml\")")
    elif not (base_path := (path.resolve().parent / data["base"]).resolve()).is_file():
        problems.append(f"base config not found: {base_path}")
    else:
        try:
            base = config_mod.load(base_path, overrides)
        except UserError as e:
            problems += [f"base {base_path.name}: {p}" for p in e.problems]
    sweep = Sweep(name=str(data.get("name") or path.stem), base=base or RunConfig(),
                  method=str(data.get("method", "grid")), fields=data.get("fields", {}),
                  samples=data.get("samples", 8), seed=data.get("seed", 0))
    problems += sweep_problems(sweep)
    if problems:
        raise ConfigError([f"{path.name}: {p}" for p in problems])
    return sweep


def sweep_problems(s: Sweep) -> list[str]:
    p = []
    if s.method not in METHODS:
        p.append(f"method = {s.method!r} is not one of grid, random")
    for key in ("samples", "seed"):
        if not isinstance(getattr(s, key), int) or isinstance(getattr(s, key), bool):
            p.append(f"{key} = {getattr(s, key)!r} is not a whole number")
    if not isinstance(s.fields, dict):
        p.append("fields must be a table: [fields] with lines such as \"train.lr\" = [1e-3, 3e-4]")
    elif not s.fields:
        p.append("no field to vary: name one and its values, such as train.lr with 1e-3, 3e-4")
    known = {f"{sec}.{f}" for sec in RunConfig.SECTIONS for f in vars(getattr(RunConfig(), sec))}
    for name, values in s.fields.items() if isinstance(s.fields, dict) else ():
        if name not in known:
            p.append(f"unknown field {name!r} (section.key, such as train.lr)")
        elif isinstance(values, dict):
            if s.method != "random":
                p.append(f"{name}: a range ({{min, max}}) needs method = \"random\"; a grid takes a list")
            elif not {"min", "max"} <= set(values) or not values["min"] < values["max"]:
                p.append(f"{name}: a range needs min < max")
            elif values.get("log") and values["min"] <= 0:
                p.append(f"{name}: a log range needs min > 0")
        elif not isinstance(values, list) or not values:
            p.append(f"{name}: give a non-empty list of values")
    if s.method == "random" and isinstance(s.samples, int) and not 1 <= s.samples <= MAX_POINTS:
        p.append(f"samples must be between 1 and {MAX_POINTS}")
    if not p and s.method == "grid":
        n = math.prod(len(v) for v in s.fields.values())
        if n > MAX_POINTS:
            p.append(f"the grid has {n:,} points (more than {MAX_POINTS:,}): use method = \"random\"")
    return p


def points(s: Sweep) -> list[dict[str, Any]]:
    names = list(s.fields)
    if s.method == "grid":
        return [dict(zip(names, combo)) for combo in itertools.product(*(s.fields[n] for n in names))]
    rng = random.Random(s.seed)
    out = []
    for _ in range(s.samples):
        point = {}
        for name in names:
            v = s.fields[name]
            if isinstance(v, dict):
                lo, hi = float(v["min"]), float(v["max"])
                x = math.exp(rng.uniform(math.log(lo), math.log(hi))) if v.get("log") else rng.uniform(lo, hi)
                point[name] = type(v["min"])(x) if isinstance(v["min"], int) and isinstance(v["max"], int) else x
            else:
                point[name] = rng.choice(v)
        out.append(point)
    return out


def point_configs(s: Sweep) -> list[RunConfig]:
    """One validated run config a point, named SWEEP-NNN; every problem of every point is listed at once."""
    configs, problems = [], []
    for i, point in enumerate(points(s)):
        data = s.base.to_dict()
        for name, value in point.items():
            section, key = name.split(".", 1)
            data[section][key] = value
        data["meta"] |= {"name": f"{s.name}-{i:03d}", "sweep": s.name, "swept": list(s.fields)}
        try:
            cfg = config_mod.from_dict(data)
            check(cfg)
            configs.append(cfg)
        except ConfigError as e:
            problems += [f"point {i} ({point_text(point)}): {p}" for p in e.problems]
    if problems:
        raise ConfigError(problems)
    return configs


def point_text(point: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in point.items())
