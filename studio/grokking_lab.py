"""The grokking lab, opened from the Help menu as the demo is: the `modular` demo's table of a + b mod 97
(engine/demo/modular.py) on the Corpus page and its recipe (resources/recipes/modular-addition.toml) in the Model
page's form, so one click on Train starts a run that groks. The Train page then shows training accuracy reach 100%
long before validation accuracy, and the Inspect page's Fourier tab the key frequencies emerging."""

from __future__ import annotations

from pathlib import Path

from engine.config import schema as C
from engine.demo.runs import RECIPE_OF, RECIPES
from studio.demo_runs import ready_status

LAB = "modular"
"""The demo corpus of the lab; its recipe is engine/demo/runs.py's RECIPE_OF[LAB]."""
READY = ("The grokking lab is ready: a + b mod 97, trained on 30% of the table with strong weight decay. Press "
         "Train: training accuracy reaches 100% within a few hundred steps, validation accuracy follows near step "
         "1,800 (14 minutes on two busy CPU cores when the recipe was measured); then Inspect → Fourier.")


def lab_config(corpus: Path, cache_dir: Path) -> C.RunConfig:
    """The recipe reading the demo table at `corpus`, caching its encoding in the workspace's `cache_dir`."""
    cfg = C.load(RECIPES / f"{RECIPE_OF[LAB]}.toml")
    cfg.data.path, cfg.data.cache_dir = str(corpus), str(cache_dir)
    return cfg


def open_grokking_lab(window) -> None:
    """Put the lab's table and recipe in place and show the Model page (the user's unsaved edits of the form are
    replaced only if they say so)."""
    model = window.model_page
    if not model.may_replace("Opening the grokking lab"):
        return
    corpus = window.corpus_page.use_demo(LAB)
    model.set_config(lab_config(corpus, window.store.cache_dir))
    model.kept.mark()
    window.nav.setCurrentRow(window.stack.indexOf(model))
    model.show_demo_note(READY)
    window.statusBar().showMessage(ready_status(READY), 30000)
