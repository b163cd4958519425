"""Reading one config value from TOML: its type checked against the field's default, and a near miss
suggested for a misspelt name or choice. No config types: the config module builds on these."""

from __future__ import annotations

import difflib
import re
from typing import Any


def suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def coerce(value: Any, default: Any, name: str) -> tuple[Any, str | None]:
    if isinstance(default, bool):
        return (value, None) if isinstance(value, bool) else (None, f"{name} must be true or false, got {value!r}")
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value, None
        if isinstance(value, float) and value.is_integer():
            return int(value), None
        return None, f"{name} must be a whole number, got {value!r}"
    if isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value), None
        return None, f"{name} must be a number, got {value!r}"
    if isinstance(default, str):
        return (value, None) if isinstance(value, str) else (None, f"{name} must be a string, got {value!r}")
    if isinstance(default, list):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value, None
        return None, f"{name} must be a list of strings"
    return value, None


DURATION_UNITS = {**dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1.0),
                  **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60.0),
                  **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600.0)}
"""The units a train.time_budget string may use, each part of it a number and a unit (a lone number: seconds)."""
_DURATION = re.compile(r"\s*(?:(?:\d+\.?\d*|\.\d+)\s*[a-z]*\s*)+")
_PART = re.compile(r"(\d+\.?\d*|\.\d+)\s*([a-z]*)")


def duration_problem(name: str, value) -> str:
    """The one sentence that refuses a duration, read from a string or given as a number."""
    return f'{name} must be seconds >= 0 (90) or a duration such as "90s", "10m" or "1h", got {value!r}'


def parse_duration(value: str, name: str) -> tuple[float | None, str | None]:
    """Seconds from "90", "90s", "10m", "1.5h", "2 min", "1 min 38 s" or "1h30m" (the form the studio and the log
    write times in reads back): (seconds, None), or (None, the sentence that refuses it)."""
    text = value.strip().lower()
    parts = _PART.findall(text) if _DURATION.fullmatch(text) else []
    units = [DURATION_UNITS.get(unit or "s") for _, unit in parts]
    if not parts or None in units or (len(parts) > 1 and not all(unit for _, unit in parts)):
        return None, duration_problem(name, value)
    return sum(float(number) * unit for (number, _), unit in zip(parts, units)), None
