"""The dialogue demo, opened from the Help menu as the named-entities demo is: the `dialogue` demo's generated
conversations (a shop assistant asked about a fixed catalogue's prices, colours and stock, with follow-ups that
refer back: engine/demo/dialogue.py) on the Corpus page with its tokenizer, and its recipe
(resources/recipes/dialogue.toml: instruct, the loss on the assistant's turns) in the Model page's form, so one
click on Train starts a run whose exact match on held-out turns the Train page shows and that the Playground's
Chat view talks with."""

from __future__ import annotations

from studio.demo_runs import open_demo_run

DEMO = "dialogue"
READY = ("The dialogue demo is ready: a shop assistant's conversations about a fixed catalogue, whose follow-ups "
         "(\"and how much is it?\") refer back to earlier turns, and a small decoder that learns the assistant's "
         "turns. Press Train: the Train page shows exact match on held-out turns; then talk with it in the "
         "Playground's Chat view.")


def open_dialogue_demo(window) -> None:
    open_demo_run(window, DEMO, "Opening the dialogue demo", READY)
