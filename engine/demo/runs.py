"""A ready run config for every demo corpus: its recipe in resources/recipes where it has one (comments
and all), else a small model sized for it; `python -m engine demo NAME --out DIR` writes both."""

from __future__ import annotations

import re
from pathlib import Path

from engine.core.errors import UserError
from engine.core.tomlio import write_atomic
from engine.demo import DEMOS, demo_config_toml, demo_path, make_demo_corpus
from engine.run.folder import RUN_FILE

RECIPES = Path(__file__).resolve().parents[2] / "resources" / "recipes"
RECIPE_OF = {"induction": "induction", "translate": "translate", "summarize": "summarize-instruct",
             "modular": "modular-addition", "fewshot": "fewshot", "dialogue": "dialogue",
             "qa": "qa", "entities": "entities"}

PLAIN = '''# {what}
[meta]
name = "{name}"

[data]
path = "{name}.txt"
documents = "line"

[tokenizer]
kind = "char"

[model]
n_layer = 2
n_head = 4
n_embd = 64
block_size = 64
position = "rope"

[train]
batch_size = 32
max_steps = 1000
lr = 2e-3
min_lr = 2e-4
warmup_steps = 50
eval_interval = 100
eval_batches = 8
sample_prompts = ["\\n"]
out_dir = "runs/{name}"
'''

CLASSIFY = '''# {what}
[meta]
name = "{name}"

[data]
path = "{name}.csv"

[tokenizer]
kind = "char"

[model]
objective = "classify"
n_layer = 2
n_head = 4
n_embd = 64
block_size = 64

[train]
batch_size = 32
max_steps = 600
lr = 2e-3
min_lr = 2e-4
warmup_steps = 50
eval_interval = 100
out_dir = "runs/{name}"
'''


def demo_run_toml(name: str) -> str:
    """The run config of demo `name`, its paths relative to the folder it is written in."""
    recipe = RECIPES / f"{RECIPE_OF.get(name, '')}.toml"
    if name in RECIPE_OF and recipe.is_file():
        text = recipe.read_text(encoding="utf-8")
        text = re.sub(r'(?m)^path = "demo:[^"]*"[^\n]*', f'path = "{demo_path(name, ".").name}"', text)
        return re.sub(r'(?m)^out_dir = "[^"]*"[^\n]*', f'out_dir = "runs/{name}"', text)
    if name == "python-stdlib":
        return demo_config_toml(Path(f"{name}.txt"), Path(f"runs/{name}")).replace(
            "[meta]", f"# {DEMOS[name]}\n[meta]", 1)
    template = CLASSIFY if name == "balanced" else PLAIN
    return template.format(name=name, what=DEMOS[name])


def write_demo(name: str, out: str | Path) -> tuple[Path, Path]:
    """The demo corpus and its run.toml in `out` (made if missing); refuses to overwrite a run.toml."""
    if name not in DEMOS:
        raise UserError(f"no demo {name!r}: choose one of {', '.join(DEMOS)}")
    out = Path(out)
    config = out / RUN_FILE
    if config.exists():
        raise UserError(f"{config} exists: choose another --out folder, or delete it first")
    try:
        corpus = make_demo_corpus(name, out)
    except OSError as e:
        raise UserError(f"cannot write the demo into {out}: {e.strerror or e}") from None
    write_atomic(config, demo_run_toml(name))
    return corpus, config
