"""The named-entities demo, opened from the Help menu as the demo and the grokking lab are: the `entities` demo's
generated sentences (people, places, organisations and dates, some words ambiguous: engine/demo/entities.py) on the
Corpus page with its tokenizer, and the demo's tagger (engine/demo/runs.py) in the Model page's form, so one click
on Train starts a run whose entity F1 the Train page shows and whose entities the Playground marks."""

from __future__ import annotations

from pathlib import Path

from engine.config import schema as C
from engine.demo.runs import demo_run_toml

DEMO = "entities"
READY = ("The named-entities demo is ready: generated sentences with people, places, organisations and dates, and a "
         "small encoder that tags every word. Press Train: the Train page's Entities tab shows entity F1 per type; "
         "then type a sentence in the Playground to see its entities marked.")


def entities_config(corpus: Path, cache_dir: Path) -> C.RunConfig:
    """The demo's run reading the sentences at `corpus`, caching in the workspace's `cache_dir`."""
    cfg = C.loads(demo_run_toml(DEMO))
    cfg.data.path, cfg.data.cache_dir = str(corpus), str(cache_dir)
    return cfg


def open_entities_demo(window) -> None:
    """Put the demo's sentences and tagger in place and show the Model page (the user's unsaved edits of the form
    are replaced only if they say so); the Corpus page's tokenizer is the run's, so Prepare measures what it
    trains on."""
    model = window.model_page
    if not model.may_replace("Opening the named-entities demo"):
        return
    corpus = window.corpus_page
    cfg = entities_config(corpus.use_demo(DEMO), window.store.cache_dir)
    corpus.kind.setCurrentText(cfg.tokenizer.kind)
    corpus.vocab_size.setValue(cfg.tokenizer.vocab_size)
    model.set_config(cfg)
    model.kept.mark()
    window.nav.setCurrentRow(window.stack.indexOf(model))
    window.statusBar().showMessage(READY, 30000)
