"""Built-in demo corpora that every machine has or the engine makes.

- python-stdlib: the Python standard library's own source files, a real code corpus.
- induction: random text whose spans repeat at varying distances; only an induction head predicts
  the repeats (the induction recipe watches one form).
- copy, sort, add, brackets: generated tasks whose attention patterns are known (a copy head looks
  back one period; sorting looks for the next larger symbol; brackets look at their opener).
- balanced: a CSV of bracket sequences labelled balanced or not (classification).
- modular: every pair of a + b mod 97 once, `a+b=` labelled with the sum (classification): the grokking lab's
  table (engine/demo/modular.py); the run's validation split is the part of the table it must generalise to.
- entities: sentences tagged with people, places, organisations and dates, some words ambiguous (Jordan the
  person or the place), as CoNLL-style text for the tag objective (engine/demo/entities.py).
- qa: paragraphs of facts (who was born, moved, won a prize where and when) with who/where/when questions, some
  of which the paragraph does not answer, as JSONL for extractive question answering (engine/demo/facts.py).
- fewshot: questions answered by a hidden rule that changes from episode to episode; only the examples before a
  question say which, and task files ask each rule with 0 to 8 examples (engine/demo/fewshot.py).
- translate, summarize: source -> target pairs (JSONL) for seq2seq and instruct: a made-up language with
  known word alignment, and sentences summed up as who did what (engine/demo/pairs.py).
- dialogue: a shop assistant's multi-turn conversations (JSONL `messages`) for instruct, whose follow-ups refer
  back to earlier turns (engine/demo/dialogue.py).

Each has a ready run config (engine/demo/runs.py): `python -m engine demo NAME --out DIR` writes both.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from engine.config.schema import DEMO_PREFIX
from engine.core.errors import UserError
from engine.demo import generated as g
from engine.demo.dialogue import dialogue_jsonl
from engine.demo.entities import entities_conll
from engine.demo.facts import facts_jsonl
from engine.demo.fewshot import fewshot_corpus, write_fewshot_tasks
from engine.demo.modular import modular_csv
from engine.demo.pairs import PAIR_MAKERS, pairs_jsonl

DEMOS = {
    "python-stdlib": "Python standard library source (~1 MB of real code)",
    "copy": "copy a random string after '|': induction heads look back one period",
    "induction": "random letters with repeated spans: a model forms an induction head to predict the repeats",
    "sort": "sort a random string of letters after '>'",
    "add": "add two numbers: 123+45=168",
    "brackets": "balanced bracket sequences; each closer attends to its opener",
    "balanced": "classification: is a bracket sequence balanced? (a CSV of text and label)",
    "modular": "classification: a+b mod 97, every pair once; trained on part of it, a small model groks the rest",
    "entities": "named entities: people, places, organisations and dates tagged in generated sentences (tag)",
    "qa": "question answering: who/where/when questions on paragraphs of facts, some unanswerable (span)",
    "fewshot": "questions answered by a rule only the examples before them show: better with more shots (fewshot)",
    "translate": "translation pairs into a made-up language that reorders words (seq2seq, instruct)",
    "summarize": "a few sentences and who did what: 'the old dog runs in the park. ...' -> dog runs, ...",
    "dialogue": "a shop assistant's conversations: price, colour, stock, and follow-ups that refer back (instruct)",
}
SUFFIXES = {"balanced": ".csv", "modular": ".csv", "translate": ".jsonl", "summarize": ".jsonl",
            "entities": ".conll", "dialogue": ".jsonl", "qa": ".jsonl"}


def demo_path(name: str, folder: str | Path) -> Path:
    return Path(folder) / f"{name}{SUFFIXES.get(name, '.txt')}"


def demo_file(name: str, folder: str | Path) -> Path:
    """The demo corpus `name` in `folder`, written there first if it is not yet."""
    if name not in DEMOS:
        raise UserError(f"data.path names the demo corpus {name!r}, which does not exist; "
                        f"choose one of {', '.join(DEMO_PREFIX + d for d in DEMOS)}")
    path = demo_path(name, folder)
    return path if path.is_file() else make_demo_corpus(name, folder)


def make_demo_corpus(name: str, folder: str | Path, *, size_bytes: int = 1_000_000, seed: int = 0) -> Path:
    """Write the demo corpus `name` into `folder` and return its path (one UTF-8 file)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = demo_path(name, folder)
    rng = random.Random(seed)
    if name in PAIR_MAKERS:
        text = pairs_jsonl(name, rng, size_bytes)
    elif name == "balanced":
        rows, total = ["text,label"], 0
        while total < size_bytes:
            text, label = g.labelled_brackets(rng)
            rows.append(f"{text},{label}")
            total += len(rows[-1]) + 1
        text = "\n".join(rows) + "\n"
    elif name == "modular":  # the whole table, whatever the size asked
        text = modular_csv()
    elif name == "entities":
        text = entities_conll(rng, size_bytes)
    elif name == "dialogue":
        text = dialogue_jsonl(rng, size_bytes)
    elif name == "qa":  # four times the size: enough questions that names are found, not paragraphs remembered
        text = facts_jsonl(rng, 4 * size_bytes)
    elif name == "fewshot":
        text = fewshot_corpus(rng, size_bytes)
        write_fewshot_tasks(folder, seed)
    elif name == "python-stdlib":
        text = g.stdlib_text(size_bytes)
    elif name in ("copy", "sort", "add", "brackets", "induction"):
        make = {"copy": g.copy_line, "sort": g.sort_line, "add": g.add_line, "brackets": g.bracket_line,
                "induction": g.repeated_spans_line}[name]
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
