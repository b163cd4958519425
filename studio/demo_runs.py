"""The applications' demos opened from the Help menu: one of engine/demo's generated corpora written into the
workspace and put on the Corpus page with the run's tokenizer, and the demo's recipe (engine/demo/runs.py) in the
Model page's form, so one click on Train starts it and the status bar says what to look at.

- named entities (`entities`): sentences with people, places, organisations and dates, some words ambiguous
  (engine/demo/entities.py), and a small encoder that tags every word;
- dialogue (`dialogue`): a shop assistant's conversations about a fixed catalogue whose follow-ups refer back to
  earlier turns (engine/demo/dialogue.py), learnt as instruct with the loss on the assistant's turns;
- question answering (`qa`): paragraphs of facts with who, where and when questions, one in six unanswered
  (engine/demo/facts.py), and an encoder with start and end heads (`model.objective = "span"`);
- few-shot prompting (`fewshot`): questions answered by a rule that changes from episode to episode, with a task
  file per rule beside the corpus for the Runs page's Few-shot tab (engine/demo/fewshot.py)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from engine.config import schema as C
from engine.demo.runs import demo_run_toml


class HelpDemo(NamedTuple):
    menu: str
    """The Help menu's entry."""
    ready: str
    """What it is, what to press and where to look: beside the Model page's form once it is in place."""


HELP_DEMOS = {
    "entities": HelpDemo(
        "Open the &named-entities demo",
        "The named-entities demo is ready: generated sentences with people, places, organisations and dates, and a "
        "small encoder that tags every word. Press Train: the Train page's Entities tab shows entity F1 per type; "
        "then type a sentence in the Playground to see its entities marked."),
    "dialogue": HelpDemo(
        "Open the dialogue demo (a &shop assistant)",
        "The dialogue demo is ready: a shop assistant's conversations about a fixed catalogue, whose follow-ups "
        "(\"and how much is it?\") refer back to earlier turns, and a small decoder that learns the assistant's "
        "turns. Press Train: the Train page shows exact match on held-out turns; then talk with it in the "
        "Playground's Chat view."),
    "qa": HelpDemo(
        "Open the &question-answering demo",
        "The question-answering demo is ready: generated paragraphs of facts (who was born, moved or won a prize, "
        "where and when) with questions on them, some of which the paragraph does not answer, and a small encoder "
        "that points at each answer in its paragraph. Press Train: the Train page shows exact match and F1; then "
        "ask a question on a paragraph in the Playground to see its answer marked."),
    "fewshot": HelpDemo(
        "Open the &few-shot demo (a rule shown by examples)",
        "The few-shot demo is ready: questions answered by a hidden rule that only the examples before them show, "
        "and a small decoder. Press Train; then the Runs page's Few-shot tab scores it with 0 to 8 examples in the "
        "prompt (its task files are beside the corpus): near chance with none, right with one."),
}


def demo_run_config(name: str, corpus: Path, cache_dir: Path) -> C.RunConfig:
    """Demo `name`'s run reading its corpus at `corpus`, caching in the workspace's `cache_dir`."""
    cfg = C.loads(demo_run_toml(name))
    cfg.data.path, cfg.data.cache_dir = str(corpus), str(cache_dir)
    return cfg


def open_demo_run(window, name: str) -> None:
    """Put demo `name`'s corpus and run in place and show the Model page, then say what to do in the status bar
    (the user's unsaved edits of the form are replaced only if they say so); the Corpus page's tokenizer is the
    run's, so Prepare measures what it trains on."""
    demo, model = HELP_DEMOS[name], window.model_page
    if not model.may_replace(f"Opening the {demo.menu.replace('&', '').removeprefix('Open the ')}"):
        return
    corpus = window.corpus_page
    cfg = demo_run_config(name, corpus.use_demo(name), window.store.cache_dir)
    corpus.kind.setCurrentText(cfg.tokenizer.kind)
    corpus.vocab_size.setValue(cfg.tokenizer.vocab_size)
    model.set_config(cfg)
    model.kept.mark()
    window.nav.setCurrentRow(window.stack.indexOf(model))
    model.show_demo_note(demo.ready)
    window.statusBar().showMessage(ready_status(demo.ready), 30000)


def ready_status(ready: str) -> str:
    """The status bar's short line for a demo put in place; its whole note is beside the Model page's form (a
    status bar shows one line, cut at the window's width)."""
    return ready.split(":")[0] + ". Press Train on the Model page; what it shows is beside the form."
