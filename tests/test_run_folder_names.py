"""A run folder's file names are written once, in engine/run/folder.py: no other source file spells them."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("run.toml", "events.jsonl", "train.log", "optimizer.safetensors", "control.json", "stdout.jsonl",
         "stderr.log", "fewshot.json")
"""Names that mean a run folder's file wherever they appear (model.safetensors, meta.json and tokenizer.json
also name files of the corpus cache and of Hugging Face folders)."""
PATH_USES = re.compile(r"""/ ["'](checkpoints|lock|control\.json)["']""")
ALLOWED = {"engine/run/folder.py"}


def _code_lines(path: Path):
    """Each line outside docstrings, without its comment."""
    text = path.read_text(encoding="utf-8")
    prose = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            prose.update(range(node.lineno, node.end_lineno + 1))
    for n, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        if n not in prose and code.strip():
            yield n, code


def test_run_folder_names_live_in_the_run_folder_module():
    found = []
    for top in ("engine", "studio"):
        for path in (ROOT / top).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel in ALLOWED:
                continue
            for n, code in _code_lines(path):
                quoted = [name for name in NAMES if f'"{name}"' in code or f"'{name}'" in code]
                if quoted or PATH_USES.search(code):
                    found.append(f"{rel}:{n}: {code.strip()}")
    assert not found, "use engine.run.folder's names:\n" + "\n".join(found)
