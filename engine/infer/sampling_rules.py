"""The one rule for generation's settings, used by `generate` on the command line and by the inference
worker, so both accept the same values and refuse the others in the same words. Torch-free: the worker's
reader thread checks requests with it before anything is loaded."""

from __future__ import annotations

import math
from collections.abc import Callable

from engine.core.errors import UserError

MAX_NEW_TOKENS = 100_000
"""The most new tokens one generation may ask for (the Playground's own maximum): a generation always ends."""


def default_temperature(answering: bool) -> float:
    """The temperature a generation uses when none is asked for, on the command line and in the worker alike:
    greedy (0) for a run that answers a source (seq2seq, instruct), else 0.8."""
    return 0.0 if answering else 0.8


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value) -> bool:
    return (_whole(value) or isinstance(value, float)) and math.isfinite(value)


RULES: dict[str, tuple[Callable[[object], bool], str]] = {  # setting: (test, what it must be)
    "max_new_tokens": (lambda v: _whole(v) and 1 <= v <= MAX_NEW_TOKENS,
                       f"must be a whole number from 1 to {MAX_NEW_TOKENS}"),
    "temperature": (lambda v: _number(v) and v >= 0, "must be a number >= 0 (0 = greedy)"),
    "top_k": (lambda v: _whole(v) and v >= 0, "must be a whole number >= 0 (0 = off)"),
    "top_p": (lambda v: _number(v) and 0 < v <= 1, "must be in (0, 1]"),
    "repetition_penalty": (lambda v: _number(v) and v > 0, "must be a number > 0 (1 = none)"),
    "beams": (lambda v: _whole(v) and v >= 1, "must be a whole number >= 1"),
    "seed": (lambda v: v is None or (_whole(v) and -2**63 <= v < 2**64), "must be a whole number (none = random)"),
    "stop": (lambda v: isinstance(v, list) and all(isinstance(s, str) and s for s in v),
             "must not be empty: it names the text to stop at"),
}


def check_sampling(values: dict, name: Callable[[str], str] = str) -> None:
    """Raise UserError naming the first setting in `values` that breaks its rule; `name` spells a setting
    as the caller's user knows it (the command line: --top-p). A setting with no rule is refused."""
    for key, value in values.items():
        if key not in RULES:
            raise UserError(f"{name(key)} is not a generation setting; they are: {', '.join(RULES)}")
        test, must = RULES[key]
        if not test(value):
            raise UserError(f"{name(key)} {must}")
