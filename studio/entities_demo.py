"""The named-entities demo, opened from the Help menu as the demo and the grokking lab are: the `entities` demo's
generated sentences (people, places, organisations and dates, some words ambiguous: engine/demo/entities.py) on the
Corpus page with its tokenizer, and the demo's tagger (engine/demo/runs.py) in the Model page's form, so one click
on Train starts a run whose entity F1 the Train page shows and whose entities the Playground marks."""

from __future__ import annotations

from studio.demo_runs import open_demo_run

DEMO = "entities"
READY = ("The named-entities demo is ready: generated sentences with people, places, organisations and dates, and a "
         "small encoder that tags every word. Press Train: the Train page's Entities tab shows entity F1 per type; "
         "then type a sentence in the Playground to see its entities marked.")


def open_entities_demo(window) -> None:
    open_demo_run(window, DEMO, "Opening the named-entities demo", READY)
