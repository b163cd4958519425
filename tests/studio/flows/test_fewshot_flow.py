"""Few-shot prompting from the Help menu: the demo's corpus and recipe in place, its task files beside the corpus
where the Runs page's Few-shot evaluation looks for them, and the recipe's measured curve drawn behind its run."""

from pathlib import Path

from engine.demo.fewshot import RULES, task_name
from studio.recipes import reference_for
from tests.studio.helpers import opened_help_demo


def test_the_help_menu_opens_the_fewshot_demo_with_its_task_files(qtbot, window):
    cfg = opened_help_demo(window, "few-shot demo", "causal", "char", "fewshot.txt")
    assert "few-shot demo is ready" in window.statusBar().currentMessage()
    corpus = Path(cfg.data.path)
    assert all((corpus.parent / task_name(rule)).is_file() for rule in RULES)
    assert cfg.name == "fewshot" and reference_for(cfg) is not None
    qtbot.waitUntil(window.model_page.train_btn.isEnabled, timeout=30000)
