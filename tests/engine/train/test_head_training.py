"""Head scores, the ICL score and phase changes as a training run records them, and the CLI that reads them."""

import json
from pathlib import Path

import numpy as np
import pytest

from engine.cli import main
from engine.config.schema import load
from engine.core.errors import UserError
from engine.data.files import find_corpus_files
from engine.run.events import read_events
from engine.train.probe import HeadWatch
from tests.conftest import tiny_config
from tests.helpers import train

RECIPE = Path(__file__).resolve().parents[3] / "resources" / "recipes" / "induction.toml"


def test_every_evaluation_carries_head_scores_and_the_icl_score(tmp_path, tiny_text):
    cfg = tiny_config(tiny_text, tmp_path, model={"n_layer": 2, "n_head": 2},
                      train={"max_steps": 20, "eval_interval": 10})
    train(cfg)
    run = tmp_path / "run"
    evals = [e for e in read_events(run / "events.jsonl") if e.type == "eval"]
    assert [e.step for e in evals] == [0, 10, 20]
    for e in evals:
        scores = e["head_scores"]
        assert set(scores) == {"induction", "previous", "duplicate", "sink", "local", "entropy"}
        arr = np.array(scores["induction"])
        assert arr.shape == (2, 2) and ((0 <= arr) & (arr <= 1)).all()
        assert isinstance(e["icl_score"], float) and e.get("val_icl_score") is None
    maps = sorted((run / "embeddings").glob("step-*.npy"))
    assert [p.name for p in maps] == ["step-000000.npy", "step-000010.npy", "step-000020.npy"]
    tokens = json.loads((run / "embeddings" / "tokens.json").read_text())
    assert np.load(maps[-1]).shape == (len(tokens["ids"]), 2)


def test_a_phase_change_is_marked_once_and_a_resume_remembers_it(tmp_path):
    def scores(top):
        return {"induction": [[0.01, top]]}

    watch = HeadWatch(np.arange(10))
    assert watch.observe(0, scores(0.02)) is None
    assert watch.observe(100, scores(0.05)) is None
    mark = watch.observe(200, scores(0.5))
    assert mark == {"step": 200, "score_before": 0.05, "score_after": 0.5, "layer": 0, "head": 1}
    assert watch.observe(300, scores(0.6)) is None  # a gentler rise later moves nothing
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in [
        {"v": 1, "type": "eval", "time": 1, "step": s, "head_scores": scores(v)} for s, v in
        [(0, 0.02), (100, 0.05), (200, 0.5)]] + [{"v": 1, "type": "phase_change", "time": 2, "step": 200}]) + "\n")
    resumed = HeadWatch(np.arange(10), tmp_path)
    assert resumed.steps == [0, 100, 200] and resumed.marked == 200
    assert resumed.observe(300, scores(0.55)) is None


def test_heads_and_lens_on_the_command_line(tmp_path, tiny_text, capsys):
    cfg = tiny_config(tiny_text, tmp_path, model={"n_layer": 2, "n_head": 2}, train={"max_steps": 10})
    train(cfg)
    run = str(tmp_path / "run")
    capsys.readouterr()
    assert main(["heads", run]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["head", "induction", "previous"] and [r.split()[0] for r in out[1:]] == [
        "0.0", "0.1", "1.0", "1.1"]
    assert main(["heads", run, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert np.array(data["head_scores"]["entropy"]).shape == (2, 2) and len(data["roles"]) == 2
    assert main(["heads", run, "--text", "the quick brown fox"]) == 0
    assert "ablating each head alone" in capsys.readouterr().out
    assert main(["lens", run, "--text", "the quick", "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "embeddings" in lines[0] and "layer 2" in lines[0] and len(lines) == 1 + len("the quick")
    assert main(["lens", run, "--text", " "]) == 2
    assert main(["lens", run, "--text", "ab", "--top-k", "0"]) == 2
    assert "--top-k must be at least 1" in capsys.readouterr().err


def test_demo_corpora_are_named_in_data_path(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTENTION_STUDIO_CACHE", str(tmp_path / "cache"))
    files = find_corpus_files("demo:induction")
    made = tmp_path / "cache" / "demos" / "induction.txt"
    assert files.all_files == [made] and made.stat().st_size > 500_000
    line = made.read_text().splitlines()[0]
    assert any(line[:n] == line[-n:] for n in range(8, 25))  # the span comes back at the end
    with pytest.raises(UserError, match="demo:copy"):
        find_corpus_files("demo:nothing")
    (tmp_path / "r.toml").write_text('[data]\npath = "demo:induction"\n')
    assert load(tmp_path / "r.toml").data.path == "demo:induction"  # not read as a file beside the config


@pytest.mark.recipe
def test_the_induction_recipe_grows_an_induction_head_with_a_phase_change(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTENTION_STUDIO_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "induction"
    assert main(["train", str(RECIPE), "--set", "train.max_steps=800", "--set", f"train.out_dir={out}",
                 "--set", "train.eval_interval=100", "--human"]) == 0
    events = read_events(out / "events.jsonl")
    tops = [float(np.max(e["head_scores"]["induction"])) for e in events if e.type == "eval"]
    assert tops[0] < 0.2 and tops[-1] >= 0.5
    changes = [e for e in events if e.type == "phase_change"]
    assert changes and changes[-1]["layer"] == 1  # the second layer's heads read the first's previous-token heads
    icl = [e["icl_score"] for e in events if e.type == "eval"]
    assert icl[-1] < icl[0] - 0.5  # later tokens are predicted better once the head exists
