"""`features` and `concept` on a tiny trained run, as a user runs them: what they print, what they write in the
run folder (SAEs that load back to the reconstruction reported, the feature cards and timeline, the accuracy
table), and a one-line refusal with exit status 2 for each bad input."""

import json

import pytest

from engine.cli import main
from engine.model.load import model_from_checkpoint
from engine.probes.features import FEATURES_FILE, features_folder
from engine.probes.residuals import resid_name, residuals, validation_tokens, windows
from engine.probes.sae import measure
from engine.probes.sae_files import load_sae
from tests.conftest import pangram_text, tiny_config
from tests.helpers import train


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 2-layer character-level run with checkpoints at steps 10 and 20."""
    tmp = tmp_path_factory.mktemp("watch")
    corpus = tmp / "corpus.txt"
    corpus.write_text(pangram_text(), encoding="utf-8")
    train(tiny_config(corpus, tmp, model={"n_layer": 2}, train={"max_steps": 20, "eval_interval": 10}))
    return tmp / "run"


def test_features_trains_an_sae_per_checkpoint_that_loads_back_to_what_it_reports(run, capsys):
    assert main(["features", str(run), "--width", "64", "--k", "4", "--steps", "60", "--positions", "512"]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].split()[:5] == ["checkpoint", "step", "explained", "alive", "dead"]
    assert "step-000010" in printed and "step-000020" in printed and "fire most often" in printed
    folder = features_folder(run, 1, 64, 4)  # the middle layer of two by default
    out = json.loads((folder / FEATURES_FILE).read_text())
    assert (out["layer"], out["hook_name"], out["width"], out["k"]) == (1, "h.1.hook_resid_post", 64, 4)
    assert [c["checkpoint"] for c in out["checkpoints"]] == ["step-000010", "step-000020"]
    first, last = out["checkpoints"]
    assert first["events"] is None and set(last["events"]) == {"continued", "born", "split", "merged", "regrouped",
                                                                 "died"}
    live = [f for f in last["features"] if f["density"] > 0]
    assert len(last["features"]) == 64 and len(live) == last["alive"] > 0
    card = live[0]
    assert card["label"] and 1 <= len(card["contexts"]) <= 5
    ctx = card["contexts"][0]
    assert len(ctx["tokens"]) == len(ctx["acts"]) and ctx["acts"][ctx["at"]] > 0

    _, val, context = validation_tokens(run)  # the same windows, read again: the saved SAE reconstructs as reported
    rows = windows(val, context, 512)
    model, _ = model_from_checkpoint(run / "checkpoints" / "step-000020", run)
    acts = residuals(model, rows, [resid_name(1)])[resid_name(1)].flatten(0, 1)
    explained, density = measure(load_sae(folder / "step-000020"), acts)
    assert explained == pytest.approx(last["explained"], abs=1e-4)
    assert int((density > 0).sum()) == last["alive"]


def test_concept_prints_and_writes_the_accuracy_of_each_layer_at_each_checkpoint(run, capsys):
    assert main(["concept", str(run), "--tokens", "a,e,i,o,u", "--positions", "1024"]) == 0
    printed = capsys.readouterr().out
    table = printed[printed.index("layer"):].split("\n\n")[0].splitlines()
    assert table[0].split() == ["layer", "step", "10", "step", "20"]
    assert [line.split()[0] for line in table[1:]] == ["embed", "0", "1"]
    assert "balanced accuracy" in printed
    out = json.loads((run / "concepts" / "tokens-a-e-i-o-u.json").read_text())
    assert out["layers"] == ["embed", "0", "1"] and out["steps"] == [10, 20]
    assert len(out["accuracy"]) == 3 and all(len(row) == 2 for row in out["accuracy"])
    assert min(out["accuracy"][0]) > 0.95  # a token's own embedding says whether it is a vowel
    assert out["concept"]["classes"] == ["other", "listed"] and sum(out["counts"]) == out["examples"]


def test_a_layer_the_model_lacks_is_refused_in_one_line(run, capsys):
    for argv in (["features", str(run), "--layer", "2"], ["concept", str(run), "--layer", "7", "--regex", "a"]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "does not exist: this model has 2 layers, 0 to 1" in err[0]


def test_bad_concepts_and_a_run_without_checkpoints_are_refused_in_one_line(tmp_path, capsys):
    empty = tmp_path / "run"
    empty.mkdir()
    (empty / "run.toml").write_text("")
    (tmp_path / "bad.csv").write_text("sentence,tag\nhello,1\n")
    cases = [(["concept", str(empty), "--regex", "[a-"], "does not compile"),
             (["concept", str(empty), "--csv", str(tmp_path / "bad.csv")], "needs the columns text and label"),
             (["concept", str(empty), "--regex", "a"], "has no checkpoint yet"),
             (["features", str(empty)], "has no checkpoint yet"),
             (["concept", str(empty)], "one of --regex, --tokens or --csv")]
    for argv, says in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and says in err[0], (argv, err)
