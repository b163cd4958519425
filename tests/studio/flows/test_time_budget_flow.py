"""The one dial through the GUI alone: a new corpus, the Time budget field, Train. The form shows what the budget
chooses and why, a field the user changes is theirs, bad input is refused in a sentence, and the run ends by its
budget with the choices in its started event."""

import re

import pytest
from PySide6.QtCore import Qt

from engine.config import schema as C
from engine.run.events import read_events
from studio.runs.page import COLUMNS, row_values
from tests.studio.helpers import write_corpus

RUN_TIMEOUT = 120_000


def use_new_corpus(qtbot, window, tmp_path):
    window.corpus_page.set_sources([write_corpus(tmp_path)])
    qtbot.mouseClick(window.corpus_page.prepare_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(window.corpus_page.use_btn.isEnabled, timeout=30000)
    qtbot.mouseClick(window.corpus_page.use_btn, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.model_page
    return window.model_page


def type_budget(qtbot, page, text: str) -> None:
    field = page.form.widget("train", "time_budget")
    field.clear()
    qtbot.keyClicks(field, text)


def label_of(page, section: str, key: str) -> str:
    return page.form.forms[(section, key)].labelForField(page.form.widget(section, key)).text()


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_a_new_corpus_a_budget_and_train(qtbot, window, tmp_path):
    page = use_new_corpus(qtbot, window, tmp_path)
    page.name.setText("budget")
    page.form.widget("train", "device").setCurrentText("cpu")
    page.form.widget("train", "threads").setValue(1)
    assert page.form.widget("train", "time_budget").text() == "" and not page.budget_marks.choices.isVisible()

    for bad in ("ten minutes", "-5m"):  # refused in a sentence naming the field, Train disabled
        type_budget(qtbot, page, bad)
        assert "Time budget [train.time_budget] must be seconds &gt;= 0 (90) or a duration such as" in page.problems.text()
        assert not page.train_btn.isEnabled()

    assert page.form.is_row_visible("train", "warmup_steps") and page.form.is_row_visible("train", "decay_steps")
    type_budget(qtbot, page, "3s")
    assert page.train_btn.isEnabled(), page.problems.text()
    # a budget's schedule runs by time: the step-counted warm-up and decay are not shown to contradict it
    assert not any(page.form.is_row_visible("train", key) for key in ("warmup_steps", "decay_steps"))
    plan = window.state.design.current.budget
    n_layer = plan.owned["model.n_layer"]
    assert page.form.widget("model", "n_layer").value() == n_layer  # the form shows what the dial chooses
    assert label_of(page, "model", "n_layer").endswith("(by the budget)")
    assert page.form.widget("train", "lr").toolTip().startswith("Chosen by the time budget: higher for narrower")
    choices = page.budget_marks.choices
    assert choices.isVisible() and "The time budget chooses" in choices.text() and "Learning rate" in choices.text()
    assert "the time budget" in page.card.values["total"].text()  # the run takes the budget, not steps x step time

    page.form.widget("train", "optimizer").setCurrentText("adam")  # the user's edit wins
    assert label_of(page, "train", "optimizer").endswith("(yours)")
    assert label_of(page, "model", "n_layer").endswith("(by the budget)")
    written, _ = page.current_config()
    assert written.train.optimizer == "adam" and written.train.time_budget == 3.0
    assert written.model.n_layer == C.ModelConfig().n_layer  # left to the engine's dial, which derives the same

    qtbot.mouseClick(page.train_btn, Qt.MouseButton.LeftButton)
    run_dir = window.store.current
    events = run_dir / "events.jsonl"
    qtbot.waitUntil(lambda: any(e.type == "finished" for e in read_events(events)), timeout=RUN_TIMEOUT)
    started = next(e for e in read_events(events) if e.type == "started")
    budget = started["budget"]
    assert budget["train.time_budget"]["value"] == 3.0
    assert {"model.n_layer", "model.n_embd", "train.batch_size", "train.lr", "train.schedule"} <= set(budget)
    assert budget["train.optimizer"] == {"value": "adam", "why": "set in the config"}
    assert budget["train.schedule"]["value"] == "wsd"
    assert C.load(run_dir / "run.toml").train.time_budget == 3.0
    sent = C.load(window.store.configs_dir / f"{run_dir.name}.toml")  # what the studio wrote for the engine
    assert sent.model.n_layer == C.ModelConfig().n_layer and sent.train.optimizer == "adam"
    steps = row_values(window.store.run(run_dir))[COLUMNS.index("Steps")]  # the Runs table: the budget, not the cap
    assert re.fullmatch(r"\d+ in a 3\.0 s budget", steps), steps


def test_a_preset_sets_its_fields_and_clearing_the_budget_gives_the_others_back(qtbot, window, tmp_path):
    page = use_new_corpus(qtbot, window, tmp_path)
    lr_before = float(page.form.widget("train", "lr").text())
    type_budget(qtbot, page, "1h")
    chosen = window.state.design.current.budget.owned
    assert page.form.widget("model", "n_embd").value() == chosen["model.n_embd"]
    assert float(page.form.widget("train", "lr").text()) == chosen["train.lr"] != lr_before
    assert "train.compile" not in window.state.design.current.budget.owned  # compiling pays off in an hour
    page.presets.activated.emit(page.presets.findText("small (CPU, an hour)"))  # a preset's shape is set, not chosen
    assert page.form.widget("model", "n_embd").value() == 384 and label_of(page, "model", "n_embd").endswith("(yours)")
    assert label_of(page, "train", "lr").endswith("(by the budget)")
    type_budget(qtbot, page, "")
    assert page.form.widget("model", "n_embd").value() == 384 and page.form.widget("model", "n_layer").value() == 6
    assert page.form.widget("train", "lr").text() == repr(lr_before)
    assert label_of(page, "model", "n_embd") == "Width (n_embd)" and page.train_btn.isEnabled()
    assert "the time budget" not in page.card.values["total"].text()
