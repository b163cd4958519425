"""Generated shop-assistant conversations whose answers are known: a fixed catalogue, a customer asking about
an item's price, colour or stock, then follow-ups that name no item ("and how much is it?") or change the
item and keep the question ("what about the kettle?"). Answering a later turn needs what earlier turns said,
so exact match on held-out later turns measures memory across the conversation, not the catalogue alone.

    user:      Do you have the lamp in stock?
    assistant: We have 4 lamps in stock.
    user:      And how much is it?
    assistant: The lamp costs 12 euros.
    user:      What about the kettle?
    assistant: The kettle costs 25 euros.

One conversation a JSONL line, in the `messages` layout (engine/data/chat_data.py), half with a system message.
"""

from __future__ import annotations

import json
import random

CATALOGUE = {  # item: (colour, price in euros, in stock)
    "lamp": ("blue", 12, 4), "kettle": ("red", 25, 0), "mug": ("white", 6, 30), "chair": ("green", 40, 2),
    "clock": ("black", 18, 7), "rug": ("yellow", 55, 1), "vase": ("pink", 15, 9), "pillow": ("grey", 9, 12),
    "mirror": ("silver", 60, 3), "teapot": ("orange", 22, 0), "basket": ("brown", 14, 6), "candle": ("purple", 3, 50),
}
SYSTEM = "You are the assistant of a small shop. Answer from the catalogue."
ASK = {  # how a customer asks about a named item
    "price": ("How much is the {item}?", "What does the {item} cost?", "What is the price of the {item}?"),
    "colour": ("What colour is the {item}?", "Which colour does the {item} come in?"),
    "stock": ("Do you have the {item} in stock?", "How many {item}s do you have?", "Is the {item} available?"),
}
FOLLOW = {  # how a follow-up asks about the item the conversation is on
    "price": ("And how much is it?", "What does it cost?", "How much is it?"),
    "colour": ("And what colour is it?", "Which colour is it?"),
    "stock": ("Do you have it in stock?", "How many do you have?", "Is it available?"),
}
SWITCH = ("What about the {item}?", "And the {item}?")
"""Another item, the same question as the turn before."""


def answer(item: str, topic: str) -> str:
    colour, price, stock = CATALOGUE[item]
    if topic == "price":
        return f"The {item} costs {price} euros."
    if topic == "colour":
        return f"The {item} is {colour}."
    if not stock:
        return f"The {item} is sold out."
    return f"We have {stock} {item}{'s' if stock > 1 else ''} in stock."


def conversation(rng: random.Random) -> list[dict]:
    """Two to four questions: the first names an item, each later one refers back, or names another item
    and keeps the topic."""
    item, topic = rng.choice(list(CATALOGUE)), rng.choice(list(ASK))
    messages = [{"role": "system", "content": SYSTEM}] if rng.random() < 0.5 else []
    messages += [{"role": "user", "content": rng.choice(ASK[topic]).format(item=item)},
                 {"role": "assistant", "content": answer(item, topic)}]
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.3:
            item = rng.choice([i for i in CATALOGUE if i != item])
            question = rng.choice(SWITCH).format(item=item)
        else:
            topic = rng.choice([t for t in FOLLOW if t != topic])
            question = rng.choice(FOLLOW[topic])
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer(item, topic)}]
    return messages


def dialogue_jsonl(rng: random.Random, size_bytes: int) -> str:
    rows, total = [], 0
    while total < size_bytes:
        rows.append(json.dumps({"messages": conversation(rng)}))
        total += len(rows[-1]) + 1
    return "\n".join(rows) + "\n"
