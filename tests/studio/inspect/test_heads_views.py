"""Inspect's Heads, Logit lens, Ablation and Embeddings tabs on a real trained run, driven as a user
would: what they show equals the engine's own answer."""

import json

import numpy as np
from PySide6.QtCore import Qt

from engine.model.load import load_for_inference
from engine.probes.ablation import ablate, rank_heads
from engine.probes.embeddings import nearest
from engine.probes.head_scores import head_roles
from engine.probes.logit_lens import logit_lens
from engine.run.events import Event, read_events
from engine.run.folder import best_checkpoint
from studio.inspect.lens_panel import shown
from tests.studio.helpers import RUN, open_tab


def test_the_heads_tab_shows_every_evaluations_scores_and_the_phase_change(qtbot, window_on, trained_run):
    page = window_on.inspect_page
    panel = open_tab(qtbot, page, "Heads")
    run = trained_run.joinpath(*RUN)
    evals = [e for e in read_events(run / "events.jsonl") if e.type == "eval"]
    assert [s for s, _ in panel.history] == [e.step for e in evals] == [0, 20, 40, 60]
    assert panel.table.rowCount() == 2 and panel.table.columnCount() == 2  # layers x heads
    last = evals[-1]["head_scores"]
    assert panel.table.item(1, 0).text().split("\n")[0] == f"{last['induction'][1][0]:.2f}"
    panel.score.setCurrentText("previous")
    assert panel.table.item(0, 1).text().split("\n")[0] == f"{last['previous'][0][1]:.2f}"
    panel.slider.setValue(0)
    first = evals[0]["head_scores"]
    assert panel.step_label.text() == "step 0"
    assert panel.table.item(0, 1).text().split("\n")[0] == f"{first['previous'][0][1]:.2f}"
    xs, ys = panel.circuit_plot.series["top induction score"].getData()
    assert list(xs) == [0, 20, 40, 60] and np.isclose(ys[-1], np.max(last["induction"]))
    assert panel.circuit_plot.series["ICL score (nats)"].getData()[1][-1] == evals[-1]["icl_score"]
    assert "No phase change" in panel.note.text()
    # the trainer marks a phase change: both plots get a line with its words, the Train page a star
    window_on.store.add_events(run, [Event("phase_change", 40, fields={
        "score_before": 0.1, "score_after": 0.5, "layer": 1, "head": 0})])
    assert len(panel.phase_lines) == 2 and all(line.value() == 40 for _, line in panel.phase_lines)
    assert "rose from 0.10 to 0.50 (layer 1, head 0)" in panel.phase_lines[0][1].toolTip()
    assert "Phase change at step 40" in panel.note.text()
    window_on.store.set_current(run)
    train = window_on.train_page
    train._redraw()
    xs, _ = train.loss_plot.markers.getData()
    assert 40 in list(xs)
    words = [p.data() for p in train.loss_plot.markers.points()]
    assert any("phase change at step 40" in (w or "") for w in words)


def test_the_logit_lens_tab_reads_every_layer(qtbot, window_on, trained_run):
    page = window_on.inspect_page
    panel = open_tab(qtbot, page, "Logit lens")
    page.text.setPlainText("The quick brown fox")
    panel.k.setValue(3)
    qtbot.mouseClick(panel.run_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=30000)
    model, tok, _ = load_for_inference(trained_run.joinpath(*RUN))
    lens = logit_lens(model, tok, "The quick brown fox", k=3)
    assert panel.table.rowCount() == 3 and panel.table.columnCount() == len("The quick brown fox")
    assert [panel.table.verticalHeaderItem(i).text() for i in range(3)] == ["embeddings", "layer 1", "layer 2"]
    assert panel.result["top"] == lens.top_strings
    cell = panel.table.item(2, 4)
    assert cell.text().split("\n")[1] == f"{lens.top_probs[2, 4, 0]:.0%}"
    assert "the real next token" in cell.toolTip()
    page.text.setPlainText("T")
    qtbot.mouseClick(panel.run_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "at least two tokens" in panel.status.text(), timeout=30000)
    assert panel.run_btn.isEnabled()


def test_the_ablation_tab_ranks_heads_and_zeroes_the_ticked_ones(qtbot, window_on, trained_run):
    page = window_on.inspect_page
    panel = open_tab(qtbot, page, "Ablation")
    text = "Sphinx of black quartz, judge my vow"
    page.text.setPlainText(text)
    qtbot.mouseClick(panel.rank_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.ranking.rowCount() == 4 and panel.rank_btn.isEnabled(), timeout=30000)
    model, tok, _ = load_for_inference(trained_run.joinpath(*RUN))
    expected = rank_heads(model, tok, text)
    assert panel.ranking.item(0, 0).text().startswith(f"layer {expected[0][0]}, head {expected[0][1]}")
    roles = head_roles([e for e in read_events(trained_run.joinpath(*RUN) / "events.jsonl") if e.type == "eval"][-1][
        "head_scores"])
    role = roles[expected[0][0]][expected[0][1]]
    assert panel.ranking.item(0, 0).text().endswith(f"({role})" if role else f"head {expected[0][1]}")
    assert panel.ranking.item(0, 1).text() == f"{expected[0][2]:+.4f}"
    panel.ranking.item(0, 0).setCheckState(Qt.CheckState.Checked)
    panel.ranking.item(1, 0).setCheckState(Qt.CheckState.Checked)
    qtbot.mouseClick(panel.zero_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Without heads" in panel.status.text(), timeout=30000)
    chosen = [expected[0][:2], expected[1][:2]]
    result = ablate(model, tok, text, chosen)
    assert f"{result.base_loss:.3f} → {result.loss:.3f}" in panel.status.text()
    assert panel.tokens.rowCount() == len(text) - 1
    assert panel.tokens.item(0, 2).text() == f"{result.probs[0]:.1%}"
    assert sorted(panel.ticked()) == sorted(chosen)  # the ticks stay for the next try


def test_the_embeddings_tab_maps_tokens_over_training_and_finds_neighbours(qtbot, window_on, trained_run):
    page = window_on.inspect_page
    panel = open_tab(qtbot, page, "Embeddings")
    run = trained_run.joinpath(*RUN)
    tokens = json.loads((run / "embeddings" / "tokens.json").read_text())
    assert panel.steps == [0, 20, 40, 60] and panel.slider.value() == 3
    assert len(panel.scatter.points()) == len(tokens["ids"])
    assert np.allclose(panel.points, np.load(run / "embeddings" / "step-000060.npy"))
    panel.slider.setValue(0)
    assert "step 0" in panel.step_label.text()
    assert np.allclose(panel.points, np.load(run / "embeddings" / "step-000000.npy"))
    e = tokens["tokens"].index("e")
    panel.token.setCurrentIndex(e)
    qtbot.mouseClick(panel.find_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.neighbours.count() == 10, timeout=30000)
    model, tok, _ = load_for_inference(run)
    vectors = model.wte.weight.detach().numpy()[tok.ordinary_ids()]
    row = list(tok.ordinary_ids()).index(tokens["ids"][e])
    best = int(tok.ordinary_ids()[nearest(vectors, row, 1)[0][0]])
    assert panel.neighbours.item(0).text().split()[0] == shown(tok.token_strings([best])[0])


def test_a_training_run_can_be_inspected_from_its_first_checkpoint(qtbot, settings, trained_run, tmp_path):
    import shutil

    from studio.main_window import MainWindow

    run = tmp_path / "ws" / "runs" / "live"
    shutil.copytree(trained_run.joinpath(*RUN), run)
    held = tmp_path / "held"
    shutil.move(run / "checkpoints", held)  # as a run is before its first checkpoint
    settings.workspace = tmp_path / "ws"
    w = MainWindow(settings)
    qtbot.addWidget(w)
    picker = w.inspect_page.picker
    assert picker.runs.findData(str(run)) < 0
    (run / "checkpoints").mkdir()
    shutil.move(held / "step-000020", run / "checkpoints" / "step-000020")
    w.store.add_events(run, [Event("checkpoint", 20, fields={"path": "checkpoints/step-000020", "best": True})])
    assert picker.runs.findData(str(run)) >= 0
    picker.runs.setCurrentIndex(picker.runs.findData(str(run)))
    assert [picker.checkpoints.itemData(i) for i in range(picker.checkpoints.count())] == ["step-000020"]
    shutil.move(held / "step-000040", run / "checkpoints" / "step-000040")
    w.store.add_events(run, [Event("checkpoint", 40, fields={"path": "checkpoints/step-000040", "best": False})])
    assert [picker.checkpoints.itemData(i) for i in range(picker.checkpoints.count())] == ["step-000040",
                                                                                             "step-000020"]
    assert picker.checkpoint() == best_checkpoint(run)  # the best is followed, as no checkpoint was picked
    picker.checkpoints.setCurrentIndex(picker.checkpoints.findData("step-000020"))  # the user's pick stays
    w.store.add_events(run, [Event("checkpoint", 40, fields={"path": "checkpoints/step-000040", "best": False})])
    assert picker.checkpoint() == "step-000020"
