"""Generated text demos: code from the standard library, and tasks whose attention patterns are known."""

from __future__ import annotations

import random
import sysconfig
from pathlib import Path


def stdlib_text(size_bytes: int) -> str:
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


def copy_line(rng: random.Random) -> str:
    s = "".join(rng.choice("abcdefghij") for _ in range(rng.randint(4, 12)))
    return f"{s}|{s}"


LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def repeated_spans_line(rng: random.Random) -> str:
    """A random span of 8-24 letters, a random gap of 0-8 letters, then the span again."""
    span = "".join(rng.choice(LETTERS) for _ in range(rng.randint(8, 24)))
    gap = "".join(rng.choice(LETTERS) for _ in range(rng.randint(0, 8)))
    return span + gap + span


def sort_line(rng: random.Random) -> str:
    s = "".join(rng.choice("abcdefghijklmnop") for _ in range(rng.randint(4, 12)))
    return f"{s}>{''.join(sorted(s))}"


def add_line(rng: random.Random) -> str:
    a, b = rng.randint(0, 999), rng.randint(0, 999)
    return f"{a}+{b}={a + b}"


def bracket_line(rng: random.Random) -> str:
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


def labelled_brackets(rng: random.Random) -> tuple[str, str]:
    """A balanced sequence, or (half the time) one spoiled by a wrong closer, a swap or a lost bracket."""
    s = bracket_line(rng)
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
    return (spoiled, "unbalanced") if not is_balanced(spoiled) else (s, "balanced")


def is_balanced(s: str) -> bool:
    stack = []
    for c in s:
        if c in "([{":
            stack.append(c)
        elif not stack or {"(": ")", "[": "]", "{": "}"}[stack.pop()] != c:
            return False
    return not stack
