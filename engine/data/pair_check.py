"""What the engine would refuse about a table of pairs, found before training by a quick read of its
first file: empty targets, and (where a token is a character) targets longer than the target length, unless
data.long_pairs says to truncate or drop them.
The Model page and `engine train` ask this with the other corpus checks."""

from __future__ import annotations

import csv
import json
from pathlib import Path

MAX_ROWS = 200_000
MAX_BYTES = 64 << 20
"""A file larger than this is checked when the run reads it, not on the form."""


def target_rows(path: Path, column: str) -> list[str] | None:
    """The `column` of each row (up to MAX_ROWS), or None when the file is too big or cannot be read quickly."""
    if path.stat().st_size > MAX_BYTES:
        return None
    out: list[str] = []
    try:
        suffix = path.suffix.lower()
        if suffix in (".jsonl", ".json"):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        row = json.loads(line)
                        out.append("" if row.get(column) is None else str(row.get(column)))
                    if len(out) >= MAX_ROWS:
                        break
        elif suffix == ".csv":
            with open(path, encoding="utf-8", newline="") as f:
                for row in csv.DictReader(f):
                    out.append(row.get(column) or "")
                    if len(out) >= MAX_ROWS:
                        break
        else:
            return None
    except (OSError, ValueError, UnicodeDecodeError, AttributeError):
        return None  # loading says what is wrong, and where
    return out


def pair_problems(table: Path, cfg) -> list[str]:
    d, m = cfg.data, cfg.model
    targets = target_rows(table, d.target_column)
    if targets is None:
        return []
    problems = []
    empty = [i + 1 for i, t in enumerate(targets) if not t.strip()]
    if empty:
        where = ", ".join(map(str, empty[:5])) + (" ..." if len(empty) > 5 else "")
        problems.append(f"{table.name}: {len(empty)} row(s) have an empty {d.target_column!r} (row {where}): a pair "
                        f"needs a target to learn; fill or remove them")
    if cfg.tokenizer.kind == "char" and m.objective == "seq2seq" and targets and d.long_pairs == "refuse":
        limit = (m.target_block_size or m.block_size) - 1  # and its <eos>
        longest = max(range(len(targets)), key=lambda i: len(targets[i]))
        if len(targets[longest]) > limit:
            problems.append(f"the target of row {longest + 1} is {len(targets[longest])} characters but at most "
                            f"{limit} fit (model.target_block_size): raise it, shorten the targets, or set "
                            f"data.long_pairs = \"truncate\" or \"drop\"")
    return problems
