"""The Runs page's Few-shot tab, driven as a user would: a tiny causal run, Few-shot evaluation… with a small task
file and three shots, then the plot has a point for each k and the chance level dashed; an evaluation recorded from
a terminal appears by itself; a bad task file is said in the engine's sentence, no traceback; a tagger is told why
it does not apply."""

import json
import random

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from engine.demo.fewshot import fewshot_corpus, write_fewshot_tasks
from engine.run.fewshot_results import record_fewshot
from studio.main_window import PAGES
from studio.runs.fewshot_dialog import FewshotDialog
from tests.conftest import tiny_config
from tests.helpers import train
from tests.studio.fake_runs import write_run
from tests.studio.helpers import go_to, shown_text

WAIT = 300_000


def open_fewshot_tab(qtbot, window, run):
    go_to(qtbot, window, "Runs")
    page = window.runs_page
    page.select([run])
    tabs = page.views
    index = tabs.indexOf(page.fewshot_panel)
    qtbot.mouseClick(tabs.tabBar(), Qt.MouseButton.LeftButton, pos=tabs.tabBar().tabRect(index).center())
    assert window.stack.currentIndex() == PAGES.index("Runs") and tabs.currentIndex() == index
    return page.fewshot_panel


def evaluate(qtbot, panel, task=None, shots="0,1,2") -> dict:
    """Press Few-shot evaluation…, fill the dialog as a user does (the task file offered, or `task`), press
    Evaluate; returns what the dialog offered."""
    seen = {}

    def drive():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, FewshotDialog):
            QTimer.singleShot(20, drive)
            return
        seen["task"], seen["shots"] = dialog.task.text(), dialog.shots.text()
        if task is not None:
            dialog.task.setText(str(task))
        dialog.shots.setText(shots)
        qtbot.mouseClick(dialog.evaluate_btn, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, drive)
    qtbot.mouseClick(panel.evaluate_btn, Qt.MouseButton.LeftButton)
    return seen


@pytest.fixture
def prompted(window, tmp_path):
    """A tiny causal run on the few-shot demo's corpus in the window's workspace, and a 12-row task file beside its
    corpus (a 2-shot prompt fits its context of 96)."""
    corpus = tmp_path / "fewshot.txt"
    corpus.write_text(fewshot_corpus(random.Random(0), 30_000), encoding="utf-8")
    out = window.store.runs_dir / "prompted"
    train(tiny_config(corpus, tmp_path, model={"block_size": 96},
                      train={"max_steps": 20, "eval_interval": 20, "out_dir": str(out)}))
    (tmp_path / "all").mkdir()
    write_fewshot_tasks(tmp_path / "all")
    rows = (tmp_path / "all" / "fewshot-upper.jsonl").read_text().splitlines()[:12]
    (tmp_path / "fewshot-upper.jsonl").write_text("\n".join(rows) + "\n")
    window.store.refresh()
    return out, tmp_path / "fewshot-upper.jsonl"


@pytest.mark.slow  # a tiny run trained and an engine process started
def test_an_evaluation_run_from_the_runs_page_is_plotted_against_k(qtbot, window, prompted, tmp_path):
    run, task = prompted
    panel = open_fewshot_tab(qtbot, window, run)
    assert "Nothing evaluated for this run yet" in panel.status.text() and not panel.plot.isVisible()
    offered = evaluate(qtbot, panel)
    assert offered == {"task": str(task), "shots": "0,1,2,4,8"}  # the task file beside the corpus
    qtbot.waitUntil(lambda: not panel.job_running and panel.evaluate_btn.isEnabled(), timeout=WAIT)
    assert "Evaluated fewshot-upper.jsonl" in panel.status.text(), panel.status.text()
    recorded = json.loads((run / "fewshot.json").read_text())["evaluations"][-1]
    line = panel.plot.series["fewshot-upper · step 20"]
    assert list(line.xData) == [0, 1, 2] and list(line.yData) == [s["accuracy"] for s in recorded["shots"]]
    chance = panel.plot.series["chance"]
    assert list(chance.xData) == [0, 2] and list(chance.yData) == [0.25, 0.25]  # four choices a row
    assert panel.plot.isVisible() and panel.plot.getAxis("bottom").labelText == "examples in the prompt (k)"
    assert panel.plot.getAxis("left").labelText == "accuracy"
    assert [label.text for _, label in panel.plot.legend.items] == ["fewshot-upper · step 20", "chance"]

    # evaluated elsewhere (a terminal's `engine fewshot`): the file changes and the plot follows it
    record_fewshot(run, recorded | {"task": "fewshot-copy", "path": "/elsewhere/fewshot-copy.jsonl"})
    qtbot.waitUntil(lambda: "fewshot-copy · step 20" in panel.plot.series, timeout=WAIT)
    assert panel.plot.point_count("fewshot-copy · step 20") == 3

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "abc", "choices": ["abc", "ABC"], "answer": "xyz"}\n')
    evaluate(qtbot, panel, task=bad)
    words = shown_text(panel.status)
    assert words == "bad.jsonl line 1: the answer 'xyz' is not among the choices" and "Traceback" not in words
    assert "color:#b91c1c" in panel.status.text() and not panel.job_running
    assert panel.plot.point_count("fewshot-upper · step 20") == 3  # what was measured stays


def test_a_run_that_does_not_continue_text_is_told_why(qtbot, window):
    tagger = write_run(window.store.runs_dir, "tagger", started=1000.0, objective="tag")
    window.store.refresh()
    panel = open_fewshot_tab(qtbot, window, tagger)
    assert "causal or instruct run" in panel.status.text() and "tagger is a tag run" in panel.status.text()
    assert not panel.evaluate_btn.isEnabled() and not panel.plot.isVisible()
    window.runs_page.select([])
    assert "Select one run" in panel.status.text() and not panel.evaluate_btn.isEnabled()
