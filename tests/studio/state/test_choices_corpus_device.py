"""A page's run and checkpoint, the corpus and what was derived from it, and what uses the device: Qt-free."""

from pathlib import Path

from studio.state import AppState


def test_a_choice_follows_the_best_checkpoint_until_the_user_picks_one():
    choice = AppState().choice("inspect")
    switched = []
    choice.run_switched.connect(switched.append)
    choice.choose_run(Path("runs/a"))
    assert choice.checkpoint(["step-10", "step-20"], "step-10") == "step-10"
    assert choice.checkpoint(["step-10", "step-20", "step-30"], "step-30") == "step-30"  # the best moved
    choice.pick("step-20", best="step-30")
    assert choice.checkpoint(["step-10", "step-20", "step-30", "step-40"], "step-40") == "step-20"
    choice.pick("step-40", best="step-40")  # picking the best follows the best again
    assert choice.checkpoint(["step-40", "step-50"], "step-50") == "step-50"
    choice.pick("step-40", best="step-50")
    choice.choose_run(Path("runs/a"))  # the same run: nothing switches
    choice.choose_run(Path("runs/b"))
    assert switched == [Path("runs/a"), Path("runs/b")] and choice.pinned is None
    assert choice.checkpoint([], None) is None


def test_a_new_source_clears_everything_derived_from_the_old_one():
    corpus = AppState().corpus
    corpus.choose("book.md")
    corpus.previewed([("a", "b")])
    corpus.set_prepared(438_232, 2000, "Ready: 438,232 tokens, vocabulary of 2,000.")
    corpus.choose("pairs.csv")
    assert (corpus.source, corpus.pairs, corpus.prepared, corpus.message, corpus.error) == ("pairs.csv", [], None,
                                                                                            "", "")
    corpus.failed("model.gguf cannot be read")
    assert corpus.error and corpus.prepared is None
    corpus.choose("good.csv")
    assert corpus.error == ""


def test_the_model_page_is_told_while_the_corpus_page_shows_another_corpus_than_it_trains_on(tmp_path, monkeypatch):
    from studio.state.corpus import shown_elsewhere

    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "mine.txt"
    note = shown_elsewhere(str(mine), "/data/python-stdlib.txt")
    assert note.startswith("The Corpus page shows mine.txt, but this run trains on python-stdlib.txt:")
    assert "“Use this corpus on the Model page →”" in note
    assert shown_elsewhere("mine.txt", str(mine)) == shown_elsewhere(str(mine), "./mine.txt") == ""  # one file
    assert shown_elsewhere("", "/data/python-stdlib.txt") == ""  # the Corpus page shows nothing yet
    assert "trains on no corpus yet" in shown_elsewhere(str(mine), "")
    assert shown_elsewhere("demo:qa", "demo:qa") == "" and "shows demo:qa" in shown_elsewhere("demo:qa", str(mine))


def test_measuring_waits_for_an_idle_device_and_a_figure_under_load_says_so():
    state = AppState()
    device, training = state.device, state.training
    assert device.can_measure()
    training.set_live({Path("runs/a"): False})
    assert not device.can_measure() and "training" in device.why_not_measure()
    training.set_live({})
    device.measurement_started("shape")
    assert not device.can_measure()
    training.set_live({Path("runs/b"): False})  # a run started while measuring
    assert device.measurement_ended(ok=True)  # taken under load: the measurement keeps that mark
    training.set_live({})
    device.measurement_started("shape")
    assert not device.measurement_ended(ok=True)  # measured again on an idle machine


def test_train_and_the_queue_read_one_can_train():
    form = AppState().form
    changes = []
    form.changed.connect(lambda: changes.append(form.can_train))
    form.set_problems(["give the run a name"])
    form.set_problems(["give the run a name"])
    form.set_problems([])
    assert changes == [False, True]
