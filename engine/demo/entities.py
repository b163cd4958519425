"""Generated sentences whose named entities are known: people, places, organisations and dates from fixed
lists, written as CoNLL-style text (a word and its BIO tag a line, a blank line between sentences).

Some words are ambiguous and only their context tells what they are: Jordan, Georgia or Washington is a
person in one sentence and a place in another, Apple and Orange a company or a fruit, Amazon a company or
a river, Ford a company or a person, May a person or a month. In "Apple is ..." the word after decides, so a
bidirectional encoder can tag it where a causal decoder, reading left to right, must guess.
"""

from __future__ import annotations

import random

FIRST = ("Ada", "Alan", "Grace", "Marie", "Nikola", "Rosa", "Kofi", "Mei", "Omar", "Ines", "Lars", "Priya",
         "Jordan", "Georgia", "Paris", "Florence", "Austin", "Victoria", "May", "Chelsea")
LAST = ("Lovelace", "Turing", "Hopper", "Curie", "Tesla", "Parks", "Annan", "Chen", "Haddad", "Moreau",
        "Berg", "Patel", "Washington", "Jordan", "Ford", "Lincoln", "Jackson", "Hamilton")
PLACES = (("Jordan",), ("Georgia",), ("Washington",), ("Paris",), ("Florence",), ("Austin",), ("Victoria",),
          ("Lincoln",), ("Jackson",), ("Chelsea",), ("Oslo",), ("Lagos",), ("Lima",), ("Kyoto",), ("Cairo",),
          ("New", "York"), ("San", "Francisco"), ("Buenos", "Aires"), ("Hong", "Kong"))
RIVERS = ("Amazon", "Jordan", "Nile", "Danube", "Mekong")
ORGS = (("Apple",), ("Amazon",), ("Ford",), ("Orange",), ("Shell",), ("Siemens",), ("Nokia",), ("Oxfam",),
        ("United", "Nations"), ("Red", "Cross"), ("General", "Electric"), ("Jordan", "Telecom"),
        ("Paris", "Saint", "Germain"), ("Washington", "Post"), ("Banco", "Lima"))
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FRUITS = ("Apple", "Orange")

TEMPLATES = (
    "{PER} flew to {LOC} on {DATE} .",
    "{PER} works for {ORG} in {LOC} .",
    "{ORG} opened an office in {LOC} in {DATE} .",
    "On {DATE} , {PER} met {PER} at {ORG} .",
    "{PER} said that {ORG} will hire in {LOC} .",
    "{PER} was born in {LOC} on {DATE} .",
    "{ORG} is hiring engineers in {LOC} .",
    "{FRUIT} is the favourite fruit of {PER} .",
    "{PER} bought an {fruit} in {LOC} on {DATE} .",
    "{PER} sailed down the {RIVER} with {PER} .",
    "The {ORG} office in {LOC} closed in {DATE} .",
    "The report by {ORG} came out on {DATE} .",
    "{PER} visited {PER} in {LOC} .",
    "In {DATE} {ORG} and {ORG} signed a deal .",
    "{LOC} is where {PER} grew up .",
)


def _person(rng: random.Random) -> list[str]:
    return [rng.choice(FIRST)] + ([rng.choice(LAST)] if rng.random() < 0.6 else [])


def _date(rng: random.Random) -> list[str]:
    kind = rng.randrange(4)
    if kind == 0:
        return [rng.choice(MONTHS), str(rng.randint(1, 28))]
    if kind == 1:
        return [str(rng.randint(1, 28)), rng.choice(MONTHS), str(rng.randint(1950, 2030))]
    return [rng.choice(WEEKDAYS)] if kind == 2 else [rng.choice(MONTHS), str(rng.randint(1950, 2030))]


SLOTS = {"PER": ("PER", _person), "DATE": ("DATE", _date), "LOC": ("LOC", lambda rng: list(rng.choice(PLACES))),
         "RIVER": ("LOC", lambda rng: [rng.choice(RIVERS)]), "ORG": ("ORG", lambda rng: list(rng.choice(ORGS))),
         "FRUIT": ("O", lambda rng: [rng.choice(FRUITS)]), "fruit": ("O", lambda rng: [rng.choice(FRUITS).lower()])}
"""A slot's tag type (O: a word that is no entity) and what fills it."""


def tagged_sentence(rng: random.Random) -> tuple[list[str], list[str]]:
    """One sentence's words and their BIO tags."""
    words, tags = [], []
    for piece in rng.choice(TEMPLATES).split():
        if not piece.startswith("{"):
            words.append(piece)
            tags.append("O")
            continue
        kind, fill = SLOTS[piece.strip("{}")]
        filled = fill(rng)
        words += filled
        tags += ["O"] * len(filled) if kind == "O" else [f"B-{kind}"] + [f"I-{kind}"] * (len(filled) - 1)
    return words, tags


def entities_conll(rng: random.Random, size_bytes: int) -> str:
    """Sentences in CoNLL layout until the text is about `size_bytes` long."""
    blocks, total = [], 0
    while total < size_bytes:
        words, tags = tagged_sentence(rng)
        blocks.append("\n".join(f"{w} {t}" for w, t in zip(words, tags)))
        total += len(blocks[-1]) + 2
    return "\n\n".join(blocks) + "\n"
