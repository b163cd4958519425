"""Reading one config value from TOML: its type checked against the field's default, and a near miss
suggested for a misspelt name or choice. No config types: the config module builds on these."""

from __future__ import annotations

import difflib
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


DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
"""What train.time_budget's string form may end with: seconds, minutes, hours (none: seconds)."""


def parse_duration(value: str, name: str) -> tuple[float | None, str | None]:
    """Seconds from "90", "90s", "10m" or "1.5h" (a number of seconds is read as it is): (seconds, None), or
    (None, the sentence that refuses it)."""
    text = value.strip().lower()
    unit = DURATION_UNITS.get(text[-1:], 0.0)
    try:
        seconds = float(text[:-1] if unit else text) * (unit or 1.0)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        return None, f'{name} must be seconds (90) or a duration such as "90s", "10m" or "1h", got {value!r}'
    return seconds, None
