"""Inspect's Features tab on a real trained run (three checkpoints), driven as a user would: Find features runs the
engine's pipeline in the background with a tiny SAE; the list, the contexts and the timeline show what it saved,
and a window opened again shows them without computing. A run the engine cannot read gets its sentence."""

import json
import shutil

import pytest
from PySide6.QtCore import Qt

from engine.run.folder import FEATURES_DIR
from tests.studio.fake_runs import write_run
from tests.studio.helpers import RUN, open_tab, shown_text

WAIT = 300_000


def find_features(qtbot, panel, *, layer: int, width: int, steps: int) -> None:
    panel.layer.setCurrentIndex(panel.layer.findData(layer))
    panel.width.setCurrentIndex(panel.width.findData(width))
    panel.steps.setValue(steps)
    qtbot.mouseClick(panel.find_btn, Qt.MouseButton.LeftButton)


@pytest.mark.slow
def test_find_features_shows_the_list_the_contexts_and_the_timeline(qtbot, window_on, trained_run, settings):
    page = window_on.inspect_page
    panel = open_tab(qtbot, page, "Features")
    assert "Nothing found for this run yet" in panel.status.text() and not panel.body.isVisible()
    assert panel.layer.count() == 2 and panel.layer.currentData() == 1  # the middle of two layers
    find_features(qtbot, panel, layer=0, width=32, steps=40)
    assert "about 15 s per checkpoint" in panel.status.text()  # the cost, said before the first is done
    assert not panel.find_btn.isEnabled()
    qtbot.waitUntil(lambda: not panel.job.running and panel.body.isVisible(), timeout=WAIT)
    assert "Found the features of 3 checkpoints" in panel.status.text(), panel.status.text()

    run = trained_run.joinpath(*RUN)
    saved = json.loads((run / FEATURES_DIR / "layer-0-w32-k8" / "features.json").read_text())
    entry = next(e for e in saved["checkpoints"] if e["checkpoint"] == page.picker.checkpoint())
    live = [f for f in entry["features"] if f["density"] > 0]
    assert panel.features.rowCount() == len(live) > 0
    densest = max(live, key=lambda f: f["density"])
    assert panel.features.item(0, 0).text() == f"#{densest['id']}"
    assert panel.features.item(0, 1).text() == densest["label"]
    assert panel.features.item(0, 2).text() == f"{densest['density']:.1%}"
    # the selected feature's contexts, a shaded span a token
    panel.features.selectRow(1)
    card = panel.contexts.card
    assert card["id"] == panel.features.cards[1]["id"]
    assert panel.contexts.text().count("<span") == sum(len(c["tokens"]) for c in card["contexts"])
    assert shown_text(panel.contexts).startswith(f"#{card['id']} {card['label']}: on at")
    # the timeline: a row a checkpoint, counted against the one before
    assert panel.timeline.rowCount() == 3
    assert panel.timeline.counts("born")[0] is None
    assert panel.timeline.counts("continued")[1:] == [e["counts"]["continued"] for e in saved["checkpoints"][1:]]
    assert panel.timeline.item(1, 0).text() == "step 40"
    # another checkpoint picked: its own features
    first = page.picker.checkpoints.findData("step-000020")
    page.picker.checkpoints.setCurrentIndex(first)
    assert "step-000020" in panel.caption.text()
    assert panel.features.rowCount() == sum(f["density"] > 0 for f in saved["checkpoints"][0]["features"])

    # the run opened again in a new window: the saved features show without computing
    from studio.main_window import MainWindow

    again = MainWindow(settings)
    qtbot.addWidget(again)
    again.show()
    shown = open_tab(qtbot, again.inspect_page, "Features")
    assert shown.job is None and shown.body.isVisible()
    assert shown.shown_pick.currentText() == "layer 0, 32 features, 8 on per position"
    assert shown.timeline.rowCount() == 3 and shown.features.rowCount() > 0


@pytest.mark.slow
def test_a_run_the_engine_cannot_read_gets_its_sentence(qtbot, window):
    folder = write_run(window.store.runs_dir, "translator", started=1000.0, objective="seq2seq")
    window.store.refresh()
    page = window.inspect_page
    page.picker.runs.setCurrentIndex(page.picker.runs.findData(str(folder)))
    panel = open_tab(qtbot, page, "Features")
    qtbot.mouseClick(panel.find_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.job.running and panel.find_btn.isEnabled(), timeout=WAIT)
    assert "translator is a seq2seq run" in panel.status.text() and "Traceback" not in panel.status.text()
    assert "color:#b91c1c" in panel.status.text() and not panel.body.isVisible()
    shutil.rmtree(folder / "checkpoints")  # its checkpoints deleted since the picker listed it
    qtbot.mouseClick(panel.find_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.job.running and panel.find_btn.isEnabled(), timeout=WAIT)
    assert "has no checkpoint yet" in panel.status.text(), panel.status.text()


def test_stop_ends_the_background_process_and_saves_nothing(qtbot, window_on, trained_run):
    panel = open_tab(qtbot, window_on.inspect_page, "Features")
    find_features(qtbot, panel, layer=1, width=64, steps=100_000)  # far longer than the test waits
    job = panel.job
    assert job.running and panel.stop_btn.isVisible()
    qtbot.mouseClick(panel.stop_btn, Qt.MouseButton.LeftButton)
    assert not job.running and panel.find_btn.isEnabled() and not panel.stop_btn.isVisible()
    assert "Stopped: nothing was saved" in panel.status.text()
    assert not (trained_run.joinpath(*RUN) / FEATURES_DIR / "layer-1-w64-k8" / "features.json").exists()
