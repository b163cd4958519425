"""`bench/speedrun.py --suite --quick` end to end on one corpus: nanoGPT's recipe, then the engine given only the
corpus and nanoGPT's time as its budget; a line a turn, a line for the corpus with what the dial chose, and the
geometric mean; a tuning trial reusing that nanoGPT turn with a field set for the engine. A smoke test of the
harness: tiny steps, so no speed is judged."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_quick_suite_runs_one_corpus_end_to_end(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "speedrun.py"), "--suite", "--quick", "--corpora",
                          "names", "--pairs", "1", "--threads", "1", "--out", str(tmp_path / "suite"),
                          "--cache-dir", str(tmp_path / "cache")], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    built, turn, corpus, total = lines
    assert built["corpus"] == "names" and built["bytes"] > 0 and built["data"]["documents"] == "line"
    assert "error" not in turn["nanogpt"] and "error" not in turn["engine"], turn
    nano, engine = turn["nanogpt"], turn["engine"]
    assert nano["curve"][-1][0] == 20 and nano["final_val_loss"] == nano["curve"][-1][1]
    assert 0 < nano["to_target_s"] <= nano["wall_s"] + 1
    assert engine["chose"]["train.time_budget"] == pytest.approx(nano["wall_s"], abs=0.01)
    assert {"model.n_layer", "train.lr", "train.optimizer"} <= set(engine["chose"])
    assert engine["curve"] and engine["reached"] == (engine["to_target_s"] is not None)
    assert corpus["corpus"] == "names" and corpus["chose"] == engine["chose"]
    assert ("ratio" in corpus) == engine["reached"]
    assert total["suite"] == ["names"] and total["quick"] is True
    assert (total["geomean_ratio"] is not None) == engine["reached"]

    # a tuning trial: nanoGPT's turn taken from that output, a field set for the engine's run (the dial keeps it)
    log = tmp_path / "first.jsonl"
    log.write_text(out.stdout, encoding="utf-8")
    trial = subprocess.run([sys.executable, str(ROOT / "bench" / "speedrun.py"), "--suite", "--quick", "--corpora",
                            "names", "--pairs", "1", "--threads", "1", "--out", str(tmp_path / "trial"),
                            "--cache-dir", str(tmp_path / "cache"), "--engine-set", "train.lr=0.004",
                            "--reuse-nanogpt", str(log)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert trial.returncode == 0, trial.stderr[-3000:]
    _, again, _, trial_total = [json.loads(line) for line in trial.stdout.splitlines()]
    assert again["nanogpt"] == nano and again["engine"]["chose"]["train.lr"] == 0.004
    assert trial_total["nanogpt_reused"] is True and trial_total["engine_set"] == ["train.lr=0.004"]
