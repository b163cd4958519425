"""Built-in demo corpora that every machine has or the engine makes.

- python-stdlib: the Python standard library's own source files, a real code corpus.
- induction: random text whose spans repeat at varying distances; only an induction head predicts
  the repeats (the induction recipe watches one form).
- copy, sort, add, brackets: generated tasks whose attention patterns are known (a copy head looks
  back one period; sorting looks for the next larger symbol; brackets look at their opener).
"""

from __future__ import annotations

import os
import random
import sysconfig
from pathlib import Path

DEMOS = {
    "python-stdlib": "Python standard library source (~1 MB of real code)",
    "copy": "copy a random string after '|': induction heads look back one period",
    "induction": "random letters with repeated spans: a model forms an induction head to predict the repeats",
    "sort": "sort a random string of letters after '>'",
    "add": "add two numbers: 123+45=168",
    "brackets": "balanced bracket sequences; each closer attends to its opener",
    "balanced": "classification: is a bracket sequence balanced? (a CSV of text and label)",
}


DEMO_PREFIX = "demo:"
"""A data.path of `demo:NAME` trains on the built-in demo corpus NAME (made on first use)."""


def demo_file(name: str, folder: str | Path) -> Path:
    """The demo corpus `name` in `folder`, written there first if it is not yet."""
    if name not in DEMOS:
        from engine.errors import UserError

        raise UserError(f"data.path names the demo corpus {name!r}, which does not exist; "
                        f"choose one of {', '.join(DEMO_PREFIX + d for d in DEMOS)}")
    path = Path(folder) / (f"{name}.csv" if name == "balanced" else f"{name}.txt")
    return path if path.is_file() else make_demo_corpus(name, folder)


def make_demo_corpus(name: str, folder: str | Path, *, size_bytes: int = 1_000_000, seed: int = 0) -> Path:
    """Write the demo corpus `name` into `folder` and return its path (one UTF-8 text file)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (f"{name}.csv" if name == "balanced" else f"{name}.txt")
    rng = random.Random(seed)
    if name == "balanced":
        rows, total = ["text,label"], 0
        while total < size_bytes:
            text, label = _labelled_brackets(rng)
            rows.append(f"{text},{label}")
            total += len(rows[-1]) + 1
        text = "\n".join(rows) + "\n"
    elif name == "python-stdlib":
        text = _stdlib_text(size_bytes)
    elif name in ("copy", "sort", "add", "brackets", "induction"):
        make = {"copy": _copy_line, "sort": _sort_line, "add": _add_line, "brackets": _bracket_line,
                "induction": _repeated_spans_line}[name]
        lines, total = [], 0
        while total < size_bytes:
            line = make(rng)
            lines.append(line)
            total += len(line) + 1
        text = "\n".join(lines) + "\n"
    else:
        raise ValueError(f"unknown demo corpus {name!r}; choose one of {', '.join(DEMOS)}")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # two processes may make it at once
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def _stdlib_text(size_bytes: int) -> str:
    lib = Path(sysconfig.get_paths()["stdlib"])
    parts, total = [], 0
    for f in sorted(lib.glob("*.py")):
        try:
            text = f.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        parts.append(text)
        total += len(text)
        if total >= size_bytes:
            break
    return "\n\n".join(parts)


def _copy_line(rng: random.Random) -> str:
    s = "".join(rng.choice("abcdefghij") for _ in range(rng.randint(4, 12)))
    return f"{s}|{s}"


LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _repeated_spans_line(rng: random.Random) -> str:
    """A random span of 8-24 letters, a random gap of 0-8 letters, then the span again."""
    span = "".join(rng.choice(LETTERS) for _ in range(rng.randint(8, 24)))
    gap = "".join(rng.choice(LETTERS) for _ in range(rng.randint(0, 8)))
    return span + gap + span


def _sort_line(rng: random.Random) -> str:
    s = "".join(rng.choice("abcdefghijklmnop") for _ in range(rng.randint(4, 12)))
    return f"{s}>{''.join(sorted(s))}"


def _add_line(rng: random.Random) -> str:
    a, b = rng.randint(0, 999), rng.randint(0, 999)
    return f"{a}+{b}={a + b}"


def _bracket_line(rng: random.Random) -> str:
    out, stack = [], []
    for _ in range(rng.randint(4, 24)):
        if stack and (rng.random() < 0.45 or len(stack) > 6):
            out.append({"(": ")", "[": "]", "{": "}"}[stack.pop()])
        else:
            c = rng.choice("([{")
            stack.append(c)
            out.append(c)
    out.extend({"(": ")", "[": "]", "{": "}"}[c] for c in reversed(stack))
    return "".join(out)


def _labelled_brackets(rng: random.Random) -> tuple[str, str]:
    """A balanced sequence, or (half the time) one spoiled by a wrong closer, a swap or a lost bracket."""
    s = _bracket_line(rng)
    if rng.random() < 0.5:
        return s, "balanced"
    chars = list(s)
    i = rng.randrange(len(chars))
    how = rng.random()
    if how < 0.4 and chars[i] in ")]}":
        chars[i] = rng.choice([c for c in ")]}" if c != chars[i]])
    elif how < 0.7 and i + 1 < len(chars) and chars[i] != chars[i + 1]:
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    else:
        del chars[i]
    spoiled = "".join(chars)
    return (spoiled, "unbalanced") if not _is_balanced(spoiled) else (s, "balanced")


def _is_balanced(s: str) -> bool:
    stack = []
    for c in s:
        if c in "([{":
            stack.append(c)
        elif not stack or {"(": ")", "[": "]", "{": "}"}[stack.pop()] != c:
            return False
    return not stack


def demo_config_toml(corpus_path: Path, out_dir: Path) -> str:
    """The demo preset: trains in a few minutes on a laptop CPU and shows a clear learning curve."""
    return f'''[meta]
name = "demo"

[data]
path = "{corpus_path}"

[tokenizer]
kind = "char"

[model]
n_layer = 3
n_head = 4
n_embd = 96
block_size = 64
position = "rope"

[train]
batch_size = 16
max_steps = 600
lr = 2e-3
min_lr = 2e-4
warmup_steps = 50
eval_interval = 100
sample_prompts = ["def "]
out_dir = "{out_dir}"
'''
