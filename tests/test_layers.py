"""The layers of docs/architecture.md, as pyproject.toml's import-linter contracts state them, hold."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_are_kept():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if lint is None:
        pytest.skip("import-linter is not installed (the dev extra has it)")
    out = subprocess.run([lint], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def _package_imports() -> dict[str, set[str]]:
    """engine's packages -> the other engine packages they import (anywhere in a file, lazily too)."""
    graph: dict[str, set[str]] = {}
    for path in (ROOT / "engine").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if len(parts) < 3:  # engine/cli.py, engine/__main__.py: the shells, above every package
            continue
        source = parts[1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for name in names:
                bits = name.split(".")
                if bits[0] == "engine" and len(bits) > 1 and bits[1] != source and (ROOT / "engine" / bits[1]).is_dir():
                    graph.setdefault(source, set()).add(bits[1])
    return graph


def test_the_engine_package_graph_has_no_circle():
    graph = _package_imports()
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            raise AssertionError("circle: " + " -> ".join(path[path.index(node):] + [node]))
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, path + [node])
        done.add(node)

    for package in sorted(graph):
        visit(package, [])
