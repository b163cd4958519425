"""What a new user's walk-through met, driven through the window: the demo's words follow the form; a
classifier's estimate counts the label head its corpus asks for; a figure measured under load still says so after
the studio is reopened; a checkpoint is listed with the loss measured at it; the Train header and the status bar
show the same step and time left at every update."""

import json
import re
import time

from PySide6.QtCore import Qt

from engine.core.text import human_count
from engine.plan.estimate import estimate
from engine.run.lock import RunLock
from tests.studio.conftest import tiny_model
from tests.studio.fake_runs import write_run
from tests.studio.helpers import write_corpus

WAIT = 120_000
"""A hang guard only: every wait below ends on a condition."""


def words(label) -> str:
    return re.sub(r"<[^>]+>", "", label.text())


# 1 ----------------------------------------------------------------------------------------------
def test_the_demo_box_says_demo_only_while_the_form_holds_the_demo(qtbot, window, tmp_path):
    window.offer_demo()
    page = window.model_page
    guide, path, layers = page.first_steps, page.form.widget("data", "path"), page.form.widget("model", "n_layer")
    assert guide.isVisible() and "holds the demo" in words(guide)
    demo_corpus = path.text()
    path.setText(str(write_corpus(tmp_path)))  # the user's own corpus
    assert "holds the demo" not in words(guide) and "Your first model, in three steps" in words(guide)
    path.setText(demo_corpus)
    assert "holds the demo" in words(guide)
    layers.setValue(layers.value() + 2)  # another shape
    assert "holds the demo" not in words(guide)
    layers.setValue(layers.value() - 2)
    assert "holds the demo" in words(guide)


# 2 ----------------------------------------------------------------------------------------------
def labelled_csv(tmp_path, labels: int):
    rows = ["text,label"] + [f"{'ab' * (1 + i % 7)} {i},topic{i % labels}" for i in range(8 * labels)]
    path = tmp_path / "labelled.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_classifier_estimate_counts_the_label_head_of_every_label_in_its_corpus(qtbot, window, tmp_path):
    page = window.model_page
    tiny_model(page)
    page.form.widget("model", "objective").setCurrentText("classify")
    page.form.widget("task", "labels").setText("")  # every label found in the corpus
    page.form.widget("data", "path").setText(str(labelled_csv(tmp_path, 30)))
    cfg, _ = page.current_config()
    assert cfg.task.labels == []
    counted = cfg.copy()
    counted.task.labels = [f"topic{i}" for i in range(30)]
    d = window.store.state.design.current
    expected = estimate(counted, vocab_size=d.vocab).params
    assert expected > estimate(cfg, vocab_size=d.vocab).params  # 30 labels, not the 2 of an empty field
    assert d.estimate.params == expected and d.head_note == ""
    assert page.card.text("params").startswith(f"≈ {human_count(expected)} ("), page.card.text("params")
    page.form.widget("task", "label_column").setText("topic")  # a column the corpus does not have
    params = page.card.text("params")
    assert "the label head is not counted yet" in params and "cannot be read" in params, params


# 3 ----------------------------------------------------------------------------------------------
def test_a_figure_measured_under_load_still_says_so_after_reopening(qtbot, window, settings, tmp_path):
    from studio.main_window import MainWindow

    page = window.model_page
    page.form.widget("data", "path").setText(str(write_corpus(tmp_path)))
    tiny_model(page, max_steps=100)
    qtbot.mouseClick(page.measure_btn, Qt.MouseButton.LeftButton)
    assert page.measure_job is not None
    window.state.training.set_live({tmp_path / "another-run": False})  # a run starts training meanwhile
    qtbot.waitUntil(lambda: page.measure_job is None, timeout=WAIT)
    before = page.card.text("assumes")
    assert "under load" in before and "idle machine" not in before, before
    window.save_session()

    again = MainWindow(settings)  # the studio reopened on the same workspace
    qtbot.addWidget(again)
    after = again.model_page.card.text("assumes")
    assert "under load" in after and "idle machine" not in after, after
    assert again.model_page.card.text("step") == page.card.text("step")


# 4 ----------------------------------------------------------------------------------------------
def stopped_run(runs, name: str):
    """A run stopped at step 27, between evaluations (every 10 steps): a checkpoint at 20, the best, and one at 27
    whose meta.json, as the trainer writes it, holds the best loss so far."""
    folder = write_run(runs, name, started=time.time() - 100, steps=27, evals={10: 2.5, 20: 2.0})
    events = (folder / "events.jsonl").read_text().replace('"reason": "finished"', '"reason": "stopped"')
    (folder / "events.jsonl").write_text(events)
    best = folder / "checkpoints" / "step-000020"
    best.mkdir()
    (best / "meta.json").write_text(json.dumps({"step": 20, "val_loss": 2.0, "best": True}))
    (best / "model.safetensors").write_bytes(b"")
    return folder


def test_a_checkpoint_is_listed_with_the_loss_measured_at_it(qtbot, window):
    stopped_run(window.store.runs_dir, "stopped")
    window.store.refresh()
    picker = window.playground_page.left.picker
    items = {picker.checkpoints.itemData(i): picker.checkpoints.itemText(i) for i in range(picker.checkpoints.count())}
    assert items["step-000020"] == "step-000020  (val 2.000)  best", items
    assert items["step-000027"] == "step-000027  (no evaluation at this step)", items


# 5 ----------------------------------------------------------------------------------------------
def step_event(step: int, t: float) -> str:
    return json.dumps({"v": 1, "type": "step", "time": t, "step": step, "loss": 3.0 - step / 1000, "lr": 1e-3,
                       "grad_norm": 1.0, "tokens_per_s": 640.0, "mfu": 0.0, "elapsed": t, "eta": 0.0,
                       "step_time": 0.1}) + "\n"


def test_the_train_header_and_the_status_bar_show_the_same_progress_at_each_update(qtbot, window, tmp_path):
    runs = window.store.runs_dir
    folder = write_run(runs, "busy", started=time.time() - 1000, steps=1000, evals={})
    events = folder / "events.jsonl"
    events.write_text(events.read_text().splitlines(keepends=True)[0])  # started, still training
    lock = RunLock(folder)
    lock.acquire()  # the trainer's lock, held by a live process: a run this window did not start
    train, seen = window.train_page, []

    def caught_up() -> bool:
        """The header at the newest step and the status bar showing it (each look is kept, to check them all)."""
        seen.append((train.progress.value(), train.eta.text(), window.run_label.text(), train.progress.text()))
        return seen[-1][0] == step and seen[-1][2].endswith(seen[-1][1])

    try:
        window.store.refresh()
        window.open_run(folder)
        step, t = 0, time.time() - 900
        for batch in range(12):  # a busy machine: the pace changes from batch to batch
            with events.open("a") as f:
                for _ in range(5):
                    step, t = step + 1, t + (0.2 if batch % 3 else 1.5)
                    f.write(step_event(step, t))
            qtbot.waitUntil(caught_up, timeout=WAIT)
    finally:
        lock.release()
    live = [(s, eta, bar, words) for s, eta, bar, words in seen if eta.startswith("step ")]
    assert live and live[-1][0] == step
    drifted = [(s, eta, bar) for s, eta, bar, _ in live if not (f"step {s:,} of" in eta and bar.endswith(eta))]
    assert not drifted, drifted[:3]
    # the bar's own words say the same step, in the same form, as the line beside it
    assert all(eta.startswith(words) and words == f"step {s:,} of 1,000" for s, eta, _, words in live), live[-3:]
