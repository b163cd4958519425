"""The Few-shot tab's errors, driven as a user would (fake runs: every refusal comes before anything starts): the
dialog says them in its own words (Shots, the field's name, not the CLI's --shots), offers again what was typed for
that run, and an error goes when another run is chosen or a new evaluation of the run appears."""

import json

from engine.run.fewshot_results import record_fewshot
from tests.studio.fake_runs import write_run
from tests.studio.helpers import shown_text
from tests.studio.runs.test_fewshot_panel import evaluate, open_fewshot_tab

WAIT = 120_000
"""A hang guard only: the waits end on a condition."""
ERROR = "color:#b91c1c"
ENTRY = {"task": "fewshot-upper", "path": "/t/u.jsonl", "kind": "choice", "checkpoint": "step-000010", "step": 10,
         "seed": 1234, "rows": 12, "chance": 0.25, "shots": [{"k": 0, "accuracy": 0.5, "rows": 12}]}


def test_errors_are_said_in_the_dialogs_words_and_what_was_typed_is_offered_again(qtbot, window, tmp_path):
    first = write_run(window.store.runs_dir, "first", started=1000.0)
    window.store.refresh()
    panel = open_fewshot_tab(qtbot, window, first)
    gone = tmp_path / "gone.jsonl"
    offered = evaluate(qtbot, panel, task=gone, shots="0,1,2")
    assert offered == {"task": "", "shots": "0,1,2,4,8"}
    assert shown_text(panel.status).startswith("task file not found") and ERROR in panel.status.text()

    offered = evaluate(qtbot, panel, task=gone, shots="a few")  # what was typed comes back, after the error too
    assert offered == {"task": str(gone), "shots": "0,1,2"}
    words = shown_text(panel.status)
    assert words.startswith("Shots takes numbers of examples separated by commas") and "--" not in words

    task = tmp_path / "three.jsonl"
    task.write_text("".join(json.dumps({"question": w, "answer": w.upper()}) + "\n" for w in ("ab", "cd", "ef")))
    assert evaluate(qtbot, panel, task=task, shots="0,4") == {"task": str(gone), "shots": "a few"}
    words = shown_text(panel.status)
    assert words.startswith("Shots 4 needs 5 rows") and "three.jsonl has 3" in words and "--" not in words
    assert not panel.job_running


def test_an_error_goes_on_another_run_and_when_a_new_evaluation_appears(qtbot, window, tmp_path):
    first = write_run(window.store.runs_dir, "first", started=1000.0)
    second = write_run(window.store.runs_dir, "second", started=2000.0)
    window.store.refresh()
    panel = open_fewshot_tab(qtbot, window, first)
    evaluate(qtbot, panel, task=tmp_path / "gone.jsonl")
    assert ERROR in panel.status.text()
    window.runs_page.select([second])
    assert ERROR not in panel.status.text() and "Nothing evaluated for this run yet" in panel.status.text()
    window.runs_page.select([first])  # the error was seen: it does not come back
    assert ERROR not in panel.status.text()

    evaluate(qtbot, panel, task=tmp_path / "gone.jsonl")
    assert ERROR in panel.status.text()
    record_fewshot(first, ENTRY)  # an evaluation from a terminal: the tab follows the file
    qtbot.waitUntil(lambda: "fewshot-upper · step 10" in panel.plot.series, timeout=WAIT)
    assert ERROR not in panel.status.text() and "task file not found" not in panel.status.text()
    assert evaluate(qtbot, panel, task=tmp_path / "gone.jsonl")["task"] == str(tmp_path / "gone.jsonl")
