"""Generated source -> target pairs whose answers, and whose alignment, are known.

translate: English-like sentences into a made-up language with a fixed dictionary that puts each
adjective after its noun, the article after both, and the verb last:

    the small dog sees a red ball  ->  kavo nim lo bela ruso un miru

Each row lists, for every target word, the position of the source word it translates (`alignment`),
which is what an encoder-decoder's cross-attention should find.

summarize: a few sentences and their summary, who did what (the words a summary keeps are known):

    the old dog runs in the park. a small bird sings by the river.  ->  dog runs, bird sings
"""

from __future__ import annotations

import json
import random

ARTICLES = {"the": "lo", "a": "un"}
NOUNS = {"dog": "kavo", "cat": "mesu", "bird": "tiro", "ball": "bela", "tree": "duna", "house": "pako",
         "fish": "soli", "horse": "gapi", "child": "reni", "book": "lumo", "apple": "fito", "stone": "kesa"}
ADJECTIVES = {"small": "nim", "big": "tor", "red": "ruso", "blue": "zafi", "old": "vek", "young": "jun",
              "happy": "gil", "green": "vira"}
VERBS = {"sees": "miru", "likes": "amo", "finds": "trovi", "eats": "mano", "follows": "segi", "hears": "udi",
         "takes": "preni", "paints": "pinti"}


def _phrase(rng: random.Random, start: int) -> tuple[list[str], list[str], list[int]]:
    """An article, maybe an adjective, a noun; translated noun, adjective, article (with their source positions)."""
    words = [rng.choice(list(ARTICLES))]
    if rng.random() < 0.6:
        words.append(rng.choice(list(ADJECTIVES)))
    words.append(rng.choice(list(NOUNS)))
    order = list(range(len(words)))[::-1]  # noun, adjective, article
    lexicon = {**ARTICLES, **ADJECTIVES, **NOUNS}
    return words, [lexicon[words[i]] for i in order], [start + i for i in order]


def translation_pair(rng: random.Random) -> dict:
    subject, subject_out, subject_at = _phrase(rng, 0)
    verb = rng.choice(list(VERBS))
    obj, obj_out, obj_at = _phrase(rng, len(subject) + 1)
    source = subject + [verb] + obj
    target = subject_out + obj_out + [VERBS[verb]]
    return {"source": " ".join(source), "target": " ".join(target), "alignment": subject_at + obj_at + [len(subject)]}


SUBJECTS = ("dog", "cat", "bird", "horse", "child", "fish", "farmer", "teacher", "baby", "fox")
ACTIONS = ("runs", "sleeps", "sings", "waits", "jumps", "swims", "reads", "plays", "eats", "hides")
PLACES = ("in the park", "on the mat", "by the river", "at home", "under the tree", "near the school",
          "in the garden", "on the hill")


def summary_pair(rng: random.Random) -> dict:
    sentences, summary = [], []
    for _ in range(rng.randint(2, 4)):
        who, does = rng.choice(SUBJECTS), rng.choice(ACTIONS)
        adjective = f"{rng.choice(list(ADJECTIVES))} " if rng.random() < 0.5 else ""
        sentences.append(f"{rng.choice(list(ARTICLES))} {adjective}{who} {does} {rng.choice(PLACES)}.")
        summary.append(f"{who} {does}")
    return {"source": " ".join(sentences), "target": ", ".join(summary)}


PAIR_MAKERS = {"translate": translation_pair, "summarize": summary_pair}


def pairs_jsonl(name: str, rng: random.Random, size_bytes: int) -> str:
    rows, total = [], 0
    while total < size_bytes:
        rows.append(json.dumps(PAIR_MAKERS[name](rng)))
        total += len(rows[-1]) + 1
    return "\n".join(rows) + "\n"
