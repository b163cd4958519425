"""Generated paragraphs of facts with who, where and when questions whose answers are known, for extractive question
answering (`model.objective = "span"`), as JSONL rows of context, question, answer and answer_start.

A paragraph tells what two to four people did (was born, moved, opened a bakery, won a prize, wrote a book),
each in a place and a year of their own, drawn from fixed lists; no first name, last name, place or year appears
twice in it, and in half the paragraphs everyone did the same thing, so that the event alone never tells the
facts apart. A question names a fact's person and asks where or when, or names its place and asks who ("Where
was Ada Turing born?", "When did Omar Chen move to Oslo?", "Who won a prize in Lima?"), so its answer is found by
finding that name or place in the paragraph and reading the slot the question asks for from its sentence. About
one question in six names a person or a place the paragraph does not mention; its answer is empty (SQuAD 2.0's
unanswerable questions).
"""

from __future__ import annotations

import json
import random

FIRST = ("Ada", "Alan", "Grace", "Marie", "Nikola", "Rosa", "Kofi", "Mei", "Omar", "Ines", "Lars", "Priya", "Tomas",
         "Yuki", "Amara", "Diego")
LAST = ("Lovelace", "Turing", "Hopper", "Curie", "Tesla", "Parks", "Annan", "Chen", "Haddad", "Moreau", "Berg",
        "Patel", "Novak", "Sato", "Okafor", "Silva")
PLACES = ("Oslo", "Lagos", "Lima", "Kyoto", "Cairo", "Paris", "Vienna", "Quito", "Dublin", "Hanoi", "Madrid",
          "Nairobi", "New York", "Buenos Aires", "Hong Kong", "San Francisco", "Cape Town", "Mexico City")

EVENTS = {  # the sentence, then the who, where and when questions
    "born": ("{P} was born in {L} in {Y}.", "Who was born in {L}?", "Where was {P} born?", "When was {P} born?"),
    "moved": ("{P} moved to {L} in {Y}.", "Who moved to {L}?", "Where did {P} move to?", "When did {P} move to {L}?"),
    "bakery": ("{P} opened a bakery in {L} in {Y}.", "Who opened a bakery in {L}?", "Where did {P} open a bakery?",
               "In which year did {P} open a bakery?"),
    "prize": ("{P} won a prize in {L} in {Y}.", "Who won a prize in {L}?", "Where did {P} win a prize?",
              "When did {P} win a prize?"),
    "book": ("{P} wrote a book about {L} in {Y}.", "Who wrote a book about {L}?",
             "Which city did {P} write a book about?", "In which year did {P} write a book?"),
}
UNANSWERABLE = 1 / 6


def paragraph(rng: random.Random) -> tuple[str, list[dict]]:
    """A paragraph and its facts: each with its event, person, place and year, and where each stands in the text."""
    n = rng.randint(2, 4)
    people = [f"{first} {last}" for first, last in zip(rng.sample(FIRST, n), rng.sample(LAST, n))]
    shared = rng.choice(sorted(EVENTS)) if rng.random() < 0.5 else None
    text, facts = "", []
    for person, place, year in zip(people, rng.sample(PLACES, n), rng.sample(range(1820, 2021), n)):
        fact = {"kind": shared or rng.choice(sorted(EVENTS)), "P": person, "L": place, "Y": str(year)}
        sentence = EVENTS[fact["kind"]][0]
        at = len(text) + (1 if text else 0)
        for slot in ("P", "L", "Y"):  # each slot's offset in the paragraph, read off the filled sentence
            fact[slot + "_at"] = at + len(sentence.split("{" + slot + "}")[0].format(**fact))
        text += (" " if text else "") + sentence.format(**fact)
        facts.append(fact)
    return text, facts


def question(rng: random.Random, text: str, facts: list[dict]) -> dict:
    """One row: a who, where or when question on one fact, or now and then on a person or place not in the text."""
    asks = rng.randrange(3)  # who (by the place), where or when (by the person)
    fact = dict(rng.choice(facts))
    if rng.random() < UNANSWERABLE:
        if asks == 0:
            fact["L"] = rng.choice([p for p in PLACES if p not in {f["L"] for f in facts}])
        else:  # a stranger: a first and a last name the paragraph does not use
            firsts, lasts = ({f["P"].split()[i] for f in facts} for i in (0, 1))
            first = rng.choice([name for name in FIRST if name not in firsts])
            fact["P"] = f"{first} {rng.choice([name for name in LAST if name not in lasts])}"
        return {"context": text, "question": EVENTS[fact["kind"]][1 + asks].format(**fact), "answer": ""}
    slot = "PLY"[asks]
    return {"context": text, "question": EVENTS[fact["kind"]][1 + asks].format(**fact), "answer": fact[slot],
            "answer_start": fact[slot + "_at"]}


def facts_jsonl(rng: random.Random, size_bytes: int) -> str:
    """Paragraphs with two or three questions each (none asked twice), one JSONL row a question, until about
    `size_bytes` long."""
    rows, total = [], 0
    while total < size_bytes:
        text, facts = paragraph(rng)
        asked = {}
        for _ in range(rng.randint(2, 3)):
            row = question(rng, text, facts)
            asked.setdefault(row["question"], json.dumps(row))
        rows += asked.values()
        total += sum(len(row) + 1 for row in asked.values())
    return "\n".join(rows) + "\n"
