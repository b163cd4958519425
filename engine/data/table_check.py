"""Where a JSONL or CSV file is broken, in the engine's own words: the file, the line or row, and what is
wrong there. Asked only after `datasets` failed to read a file, so good files cost nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path


def table_problem(path: Path) -> str | None:
    """A sentence naming the first broken line (JSONL) or row (CSV) of `path`, or None if none is found."""
    try:
        if path.suffix.lower() in (".jsonl", ".json"):
            return _jsonl_problem(path)
        if path.suffix.lower() == ".csv":
            return _csv_problem(path)
    except (OSError, UnicodeDecodeError) as e:
        return f"{path.name} cannot be read: {e}"
    return None


def _jsonl_problem(path: Path) -> str | None:
    with open(path, encoding="utf-8") as f:
        first = f.read(1)
        if first == "[":  # one JSON array, not JSON lines: datasets reads it whole
            return None
        f.seek(0)
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as e:
                return f"{path.name} line {n} is not valid JSON ({e.msg}, column {e.colno}): one object a line"
            if not isinstance(row, dict):
                return f"{path.name} line {n} is a JSON {type(row).__name__}, not an object with named fields"
    return None


def _csv_problem(path: Path) -> str | None:
    with open(path, encoding="utf-8", newline="") as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if not header:
            return f"{path.name} has no header row: its first line must name the columns"
        for row in rows:
            if row and len(row) != len(header):
                return (f"{path.name} row {rows.line_num} has {len(row)} fields but the header names {len(header)} "
                        f"({', '.join(header)}): quote fields that hold commas")
    return None
