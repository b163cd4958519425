"""A recipe's measured curve is drawn behind a run only when the run reads the corpus it was measured on, with
the same kind of tokenizer; the Model page says which it will be, and why not."""

import shutil

from engine.config import schema as C
from engine.run.runinfo import RUN_FILE
from studio.recipes import reference_curve, reference_for, reference_note
from tests.conftest import SHAKESPEARE


def run_config(name: str, corpus, kind: str = "char") -> C.RunConfig:
    cfg = C.RunConfig()
    cfg.name, cfg.data.path, cfg.tokenizer.kind = name, str(corpus), kind
    return cfg


def test_the_curve_follows_the_corpus_it_was_measured_on_under_any_name(tmp_path, tiny_text):
    copy = tmp_path / "input.txt"  # nanoGPT's name for the same file
    shutil.copyfile(SHAKESPEARE, copy)
    assert reference_for(run_config("baby-speedrun", copy)) == reference_curve("baby-speedrun")
    assert "is drawn faintly behind this run" in reference_note(run_config("baby-speedrun", copy))

    other = run_config("baby-speedrun", tiny_text)
    assert reference_for(other) is None
    note = reference_note(other)
    assert "not drawn" in note and "measured on tinyshakespeare.txt and this run reads corpus.txt" in note
    assert "choose Tiny Shakespeare on the Corpus page" in note

    edited = tmp_path / "tinyshakespeare.txt"  # the right name, other bytes
    edited.write_text(SHAKESPEARE.read_text()[:-1] + "?")
    assert reference_for(run_config("baby-speedrun", edited)) is None
    assert reference_for(run_config("baby-speedrun", tmp_path)) is None  # a folder

    bpe = run_config("baby-speedrun", copy, kind="bpe")
    assert reference_for(bpe) is None and "with the char tokenizer and this run uses bpe" in reference_note(bpe)


def test_a_recipe_on_a_generated_corpus_and_a_name_without_a_curve():
    assert reference_for(run_config("induction", "demo:induction")) == reference_curve("induction")
    assert reference_for(run_config("induction", "demo:translate")) is None
    assert reference_for(run_config("my-model", "demo:induction")) is None
    assert reference_note(run_config("my-model", "demo:induction")) == ""


def test_a_demo_opened_from_the_help_menu_gets_its_recipes_curve(tmp_path):
    from studio.demo_runs import demo_run_config

    cfg = demo_run_config("entities", tmp_path / "corpora" / "entities.conll", tmp_path / "cache")  # as Help writes it
    assert cfg.name == "entities" and reference_for(cfg) == reference_curve("entities")
    assert reference_for(run_config("entities", tmp_path / "my-tags.conll", kind="wordpiece")) is None


def write_run(runs, name: str, corpus) -> object:
    """A finished run folder as the engine leaves it, enough for the Train page to show its curves."""
    import json

    folder = runs / f"{name}-{corpus.stem}"
    folder.mkdir(parents=True)
    cfg = run_config(name, corpus)
    events = [{"v": 1, "type": "started", "time": 1.0, "step": 0, "run_dir": str(folder), "config": cfg.to_dict(),
               "n_params": 1000, "device": "cpu", "world_size": 1, "resumed_from": None},
              {"v": 1, "type": "eval", "time": 2.0, "step": 0, "train_loss": 4.2, "val_loss": 4.2},
              {"v": 1, "type": "finished", "time": 3.0, "step": 0, "reason": "finished"}]
    (folder / RUN_FILE).write_text(cfg.to_toml())
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return folder


def test_the_train_page_and_the_model_page_agree(qtbot, window, tmp_path, tiny_text):
    copy = tmp_path / "input.txt"
    shutil.copyfile(SHAKESPEARE, copy)
    runs = window.store.runs_dir
    page = window.train_page
    for corpus, drawn in ((copy, True), (tiny_text, False)):
        folder = write_run(runs, "baby-speedrun", corpus)
        window.store.refresh()
        window.store.set_current(folder)
        qtbot.waitUntil(lambda: page.loss_plot.point_count("validation") == 1, timeout=10000)
        assert ("reference (validation)" in page.loss_plot.series) == drawn

    model = window.model_page  # the user's own corpus is not Tiny Shakespeare: the page says so before Train
    model.set_corpus(run_config("", tiny_text))
    model.presets.activated.emit(model.presets.findText("recipe: baby-speedrun"))
    assert model.name.text() == "baby-speedrun"
    assert "not drawn" in model.reference_note.text() and model.train_btn.isEnabled(), model.problems.text()
