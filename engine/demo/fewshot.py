"""The few-shot demo: a corpus in which a small model can learn to answer only from the examples before it.

Each episode of the corpus is a run of "Question: bad\\nAnswer: BAD\\n\\n" blocks (engine/core/fewshot_layout.py)
sharing one hidden rule, drawn anew for the next episode: copy the word, write it in capitals, as digits (a=0 ...
h=7), or eight letters on (a->i). A question alone does not say which rule is meant, so with no example a
model can only guess; the examples before it say which. The task files, one per rule, ask that rule's
questions with the four rules' answers as choices: `engine fewshot RUN --task fewshot-upper.jsonl` prints
accuracy against the number of examples.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

from engine.core.fewshot_layout import shown

ALPHABET = "abcdefgh"
WORD_LENGTH = 3
RULES = {
    "copy": lambda w: w,
    "upper": str.upper,
    "digits": lambda w: "".join(str(ALPHABET.index(c)) for c in w),
    "shift": lambda w: "".join(chr(ord(c) + len(ALPHABET)) for c in w),
}
"""Each rule writes in its own alphabet, so the examples name it at a glance."""
EPISODE = (2, 12)
"""An episode holds this many questions (inclusive): 8 examples often come before one."""
TASK_ROWS = 100


def fewshot_corpus(rng: random.Random, size_bytes: int) -> str:
    """Episodes of questions answered by one rule each, until the text holds `size_bytes` characters."""
    parts, total = [], 0
    while total < size_bytes:
        rule = RULES[rng.choice(list(RULES))]
        for _ in range(rng.randint(*EPISODE)):
            word = "".join(rng.choice(ALPHABET) for _ in range(WORD_LENGTH))
            parts.append(shown(word, rule(word)))
            total += len(parts[-1])
    return "".join(parts)


def task_name(rule: str) -> str:
    return f"fewshot-{rule}.jsonl"


def write_fewshot_tasks(folder: str | Path, seed: int = 0) -> list[Path]:
    """One task file per rule in `folder`: TASK_ROWS distinct words, the four rules' answers as the choices."""
    rng = random.Random(seed)
    words = ["".join(w) for w in itertools.product(ALPHABET, repeat=WORD_LENGTH)]
    paths = []
    for index, rule in enumerate(RULES):
        rows = [{"question": w, "choices": [make(w) for make in RULES.values()], "answer": index}
                for w in rng.sample(words, TASK_ROWS)]
        paths.append(Path(folder) / task_name(rule))
        paths[-1].write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return paths
