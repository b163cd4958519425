"""`bench/vocab.py` end to end on a tiny corpus: the engine once with a vocabulary asked for and once with the size
left to the dial, each in bits per character, and the corpus's line naming the best and the dial's choice. A smoke
test of the harness: a budget of seconds, so no figure is judged."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.plan.vocab import corpus_vocab
from tests.conftest import pangram_text

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_each_vocabulary_runs_in_turns_and_is_compared_in_bits_per_character(tmp_path):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text(pangram_text(), encoding="utf-8")
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "vocab.py"), "--corpora", "", "--corpus", str(corpus),
                          "--budget", "3", "--vocabs", "600,dial", "--out", str(tmp_path / "runs")], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    asked, dial, line = [json.loads(x) for x in out.stdout.splitlines()]
    assert "error" not in asked and "error" not in dial, (asked, dial)
    assert asked["asked"] == "600" and asked["vocab"] == 600 == asked["chose"]["tokenizer.vocab_size"]
    assert dial["vocab"] == dial["chose"]["tokenizer.vocab_size"] <= corpus_vocab(corpus.stat().st_size)
    for run in (asked, dial):
        assert run["steps"] > 0 and 0 < run["tokens_per_char"] < 1  # a BPE token covers a character or more
        assert run["bits_per_char"] == pytest.approx(run["best_val_loss"] * run["tokens_per_char"] / 0.693147,
                                                     rel=1e-3)
    assert line["corpus"] == "tiny" and set(line["bits_per_char"]) == {"600", "dial"}
    assert line["best"] == min(line["bits_per_char"], key=line["bits_per_char"].get)
    assert line["dial_chose"] == dial["vocab"]
