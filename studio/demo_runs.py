"""A demo run opened from the Help menu: one of engine/demo's generated corpora written into the workspace and put on
the Corpus page with the run's tokenizer, and the demo's run config (its recipe where it has one: engine/demo/runs.py)
in the Model page's form, so one click on Train starts it. The named-entities and dialogue demos open this way."""

from __future__ import annotations

from pathlib import Path

from engine.config import schema as C
from engine.demo.runs import demo_run_toml


def demo_run_config(name: str, corpus: Path, cache_dir: Path) -> C.RunConfig:
    """Demo `name`'s run reading its corpus at `corpus`, caching in the workspace's `cache_dir`."""
    cfg = C.loads(demo_run_toml(name))
    cfg.data.path, cfg.data.cache_dir = str(corpus), str(cache_dir)
    return cfg


def open_demo_run(window, name: str, opening: str, ready: str) -> None:
    """Put the demo's corpus and run in place and show the Model page, then say `ready` in the status bar (the
    user's unsaved edits of the form are replaced only if they say so, asked about `opening`); the Corpus page's
    tokenizer is the run's, so Prepare measures what it trains on."""
    model = window.model_page
    if not model.may_replace(opening):
        return
    corpus = window.corpus_page
    cfg = demo_run_config(name, corpus.use_demo(name), window.store.cache_dir)
    corpus.kind.setCurrentText(cfg.tokenizer.kind)
    corpus.vocab_size.setValue(cfg.tokenizer.vocab_size)
    model.set_config(cfg)
    model.kept.mark()
    window.nav.setCurrentRow(window.stack.indexOf(model))
    window.statusBar().showMessage(ready, 30000)
