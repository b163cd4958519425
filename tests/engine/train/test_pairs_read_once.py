"""Pairs are read once (engine/data/pair_prepare.py): a seq2seq or instruct run splits, cuts and counts its
pairs exactly as `prepare` reports them, and says each stage of reading them as a text run does."""

import json
import re

import pytest

from engine.cli import main
from engine.demo import make_demo_corpus
from engine.run.events import read_events
from tests.conftest import tiny_config


@pytest.mark.parametrize("objective", ["seq2seq", "instruct"])
def test_a_pair_run_reads_its_pairs_as_prepare_reports_them(tmp_path, capsys, objective):
    corpus = make_demo_corpus("translate", tmp_path / "data", size_bytes=20_000)
    cfg = tiny_config(corpus, tmp_path, model={"objective": objective, "block_size": 40, "target_block_size": 6},
                      data={"test_fraction": 0.1, "long_pairs": "truncate"},
                      train={"max_steps": 2, "eval_interval": 2, "seed": 7})
    config = tmp_path / "run.toml"
    config.write_text(cfg.to_toml())

    assert main(["prepare", str(config)]) == 0
    report = re.sub(r"(\d),(\d)", r"\1\2", capsys.readouterr().out)  # 1,234 -> 1234
    n, train, val, test = map(int, re.search(r"pairs (\d+) \(train (\d+), validation (\d+), test (\d+)\)",
                                             report).groups())
    vocab = int(re.search(r"vocabulary (\d+)", report).group(1))
    cut = re.search(r"(\d+) target\(s\) longer than", report)

    assert main(["train", str(config), "--events"]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [e["stage"] for e in printed if e["type"] == "prepare"][:3] == ["load", "tokenizer", "encode"]
    started = next(e for e in read_events(tmp_path / "run" / "events.jsonl") if e.type == "started")
    counted = started["corpus"]
    assert (counted["documents"], counted["train_examples"], counted["val_examples"], counted["test_examples"]) == (
        n, train, val, test)
    assert counted["vocab_size"] == vocab
    assert counted["targets_cut"] == (int(cut.group(1)) if cut else 0) and counted["targets_cut"] > 0
