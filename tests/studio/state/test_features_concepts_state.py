"""The Features and Concepts tabs' figures without Qt: the engine's progress lines read, the saved results found,
the live concept table read from eval events, and bad concepts refused in the engine's sentences."""

import json

import pytest

from engine.core.errors import UserError
from engine.run.events import Event
from studio.state import concepts, features


def test_a_features_row_as_the_engine_prints_it_says_its_checkpoint_and_seconds():
    from engine.probes.features import line

    entry = {"checkpoint": "step-000040", "step": 40, "explained": 0.876, "alive": 31, "dead": 1, "seconds": 12.5,
             "counts": {"continued": 30, "born": 1, "split": 0, "merged": 0, "died": 0}}
    assert features.checkpoint_done(line(entry)) == ("step-000040", 12.5)
    assert features.checkpoint_done(line(entry | {"counts": None})) == ("step-000040", 12.5)
    assert features.checkpoint_done("checkpoint       step  explained  alive") is None
    assert "about 15 s per checkpoint" in features.progress_words([], 3)
    assert features.progress_words([10.0, 14.0], 3) == "2 of 3 checkpoints done, about 12 s each: about 12 s left…"


def test_saved_features_are_found_by_layer_and_width(tmp_path):
    def save(layer, width):
        folder = tmp_path / "features" / f"layer-{layer}-w{width}-k8"
        folder.mkdir(parents=True)
        entry = {"checkpoint": "step-000010", "step": 10, "explained": 0.9, "alive": 2, "dead": 1, "counts": None,
                 "features": [{"id": 0, "density": 0.1}, {"id": 1, "density": 0.0}, {"id": 2, "density": 0.4}]}
        (folder / "features.json").write_text(json.dumps({"layer": layer, "width": width, "k": 8,
                                                          "checkpoints": [entry]}))

    save(1, 64)
    save(0, 32)
    (tmp_path / "features" / "layer-2-w8-k8").mkdir()
    (tmp_path / "features" / "layer-2-w8-k8" / "features.json").write_text("{torn")
    saved = features.saved_features(tmp_path)
    assert [(d["layer"], d["width"]) for d in saved] == [(0, 32), (1, 64)]
    assert features.saved_for(saved, 1, 64)["folder"].endswith("layer-1-w64-k8")
    assert features.saved_for(saved, 1, 32) is None
    entry, own = features.entry_for(saved[0], "step-000099")
    assert entry["checkpoint"] == "step-000010" and not own
    assert [f["id"] for f in features.live_features(entry)] == [2, 0]  # densest first, the dead one left out
    assert features.timeline_rows(saved[0])[0]["born"] is None  # the first checkpoint has none before it
    assert features.features_args(tmp_path, features.FeatureOptions(1, 64, 50))[-2:] == ["--steps", "50"]


def test_a_bad_concept_is_refused_in_the_engines_sentence(tmp_path):
    with pytest.raises(UserError, match="does not compile"):
        concepts.checked_concept("regex", "[A-")
    with pytest.raises(UserError, match="pick a preset"):
        concepts.checked_concept("regex", "  ")
    bad = tmp_path / "labels.csv"
    bad.write_text("sentence,kind\nhello,a\n")
    with pytest.raises(UserError, match="needs the columns text and label"):
        concepts.checked_concept("csv", str(bad))
    concept = concepts.checked_concept("regex", concepts.PRESETS["a digit follows"])
    assert concepts.concept_args(tmp_path, concept)[2:4] == ["--regex", ".(?=[0-9])"]


def test_a_csv_with_an_odd_name_still_gets_a_file_name_the_engine_takes(tmp_path):
    csv = tmp_path / "my labels (v2).csv"
    csv.write_text("text,label\nhello,a\nbye,b\n")
    name = concepts.result_name(concepts.checked_concept("csv", str(csv)))
    assert name.replace("-", "").replace("_", "").isalnum()


def test_the_live_table_reads_the_eval_events_in_layer_order():
    evals = [Event("eval", 0, fields={"concept_problem": "one label only"}),
             Event("eval", 10, fields={"concept_accuracy": {"1": 0.8, "embed": 0.6, "0": 0.7}}),
             Event("eval", 20, fields={"concept_accuracy": {"0": 0.9, "embed": 0.6, "1": 0.95}})]
    table = concepts.live_table(evals, "[aeiou]")
    assert table["layers"] == ["embed", "0", "1"] and table["steps"] == [10, 20]
    assert table["accuracy"] == [[0.6, 0.6], [0.7, 0.9], [0.8, 0.95]]
    assert "not recorded" in concepts.baseline_words(table) and concepts.floor_of(table) == 0.6
    assert concepts.live_problem(evals) == "one label only"
    assert concepts.live_table(evals[:1], "[0-9]") is None
    assert concepts.checkpoint_probed("step-000020: 3 probes in 1.2 s") == 1.2
    assert concepts.checkpoint_probed("wrote x.json") is None
