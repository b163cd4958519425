"""`eval --split test`, the test split in `prepare`, macro-F1 in a classifier's final line, and
data.long_pairs (refuse | truncate | drop) for seq2seq and instruct pairs."""

import json
import re

import pytest

from engine.cli import main
from engine.core.errors import ConfigError, UserError
from engine.data.pair_check import pair_problems
from engine.data.pairs import split_pairs
from engine.data.tokenizer import train_tokenizer
from engine.demo import make_demo_corpus
from engine.plan.preflight import check
from engine.run.events import read_events
from engine.run.humanlog import describe
from tests.conftest import tiny_config
from tests.reliability.helpers import engine_here, last_line


def write(cfg, path):
    path.write_text(cfg.to_toml())
    return path


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """A tiny classifier with a test split, trained through the CLI (its events and train.log)."""
    tmp = tmp_path_factory.mktemp("classify")
    corpus = make_demo_corpus("balanced", tmp / "data", size_bytes=12_000)
    cfg = tiny_config(corpus, tmp, model={"objective": "classify", "block_size": 32},
                      data={"test_fraction": 0.25}, train={"max_steps": 4, "eval_interval": 2})
    assert main(["train", str(write(cfg, tmp / "run.toml")), "--events"]) == 0
    return tmp / "run"


def finished(run):
    return next(e for e in read_events(run / "events.jsonl") if e.type == "finished")


def test_eval_scores_the_test_split_on_demand(classifier):
    test = finished(classifier)["test"]
    r = engine_here("eval", classifier, "--split", "test", "--checkpoint", "latest")
    assert r.returncode == 0, r.stderr
    line = last_line(r.stdout)
    assert "test loss" in line and "macro-F1" in line and "every test example" in line, line
    loss = float(re.search(r"test loss ([\d.]+)", line).group(1))
    assert loss == pytest.approx(test["loss"], abs=1e-3)  # the same rows the end of training scored
    assert f"accuracy {test['accuracy']:.1%}" in line
    val = last_line(engine_here("eval", classifier, "--checkpoint", "latest").stdout)
    assert "validation loss" in val and "every validation example" in val


def test_eval_of_a_test_split_a_run_does_not_have_is_refused_in_words(tmp_path, tiny_text):
    cfg = tiny_config(tiny_text, tmp_path, train={"max_steps": 2, "eval_interval": 2})
    assert main(["train", str(write(cfg, tmp_path / "run.toml")), "--events"]) == 0
    r = engine_here("eval", tmp_path / "run", "--split", "test")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert last_line(r.stderr).startswith("error: run has no test split (data.test_fraction = 0)")
    assert engine_here("eval", tmp_path / "run", "--split", "train").returncode == 2  # not a held-out split


def test_prepare_shows_the_test_split_beside_train_and_validation(tmp_path, tiny_text):
    cfg = tiny_config(tiny_text, tmp_path, data={"test_fraction": 0.2})
    r = engine_here("prepare", write(cfg, tmp_path / "run.toml"))
    assert r.returncode == 0, r.stderr
    found = re.search(r"tokens ([\d,]+) \(train ([\d,]+), validation ([\d,]+), test ([\d,]+)\)", r.stdout)
    tokens, train, val, test = (int(n.replace(",", "")) for n in found.groups())
    assert test == round(tokens * 0.2) and train + val + test == tokens


def test_a_classifiers_final_line_has_its_macro_f1(classifier):
    line = describe(finished(classifier))
    assert re.search(r"val accuracy [\d.]+%, val macro-F1 [\d.]+", line), line
    assert re.search(r"test: loss [\d.]+, accuracy [\d.]+%, macro-F1 [\d.]+", line), line
    logged = [ln for ln in (classifier / "train.log").read_text().splitlines() if " finished at step " in ln]
    assert "val macro-F1" in logged[-1] and ", macro-F1 " in logged[-1]


# ----- data.long_pairs ---------------------------------------------------------------------------------------
SOURCES = [f"go {w}" for w in ("north", "south", "east", "west", "up", "down", "in", "out")]
TARGETS = ["n", "s", "e", "w", "u", "d", "i", "a much too long target"]


def split(long_pairs, sources=SOURCES, targets=TARGETS):
    tok = train_tokenizer("char", lambda: iter(sources + targets))
    return split_pairs(sources, targets, tok, seed=0, val_fraction=0.25, test_fraction=0.0, max_source=7,
                       max_target=4, target_key="model.target_block_size", long_pairs=long_pairs), tok


def test_a_long_target_is_refused_by_default_with_the_way_out():
    with pytest.raises(UserError, match=r'row 8 is 22 tokens but at most 4 fit .*data.long_pairs = "truncate"'):
        split("refuse")


def test_truncate_cuts_long_sources_and_targets_to_fit():
    data, tok = split("truncate")
    rows = [*data.train.tgt, *data.val.tgt]
    assert len(rows) == 8 and max(map(len, rows)) == 4 and max(len(s) for s in [*data.train.src, *data.val.src]) == 7
    assert data.targets_cut == 1 and data.truncated == 2 and data.dropped == 0  # "go north", "go south"
    assert "a mu" in [*data.train.targets, *data.val.targets]  # the reference is what was learnt


def test_drop_leaves_out_pairs_too_long_on_either_side():
    data, _ = split("drop")
    kept = [*data.train.sources, *data.val.sources]
    assert data.dropped == 3 and data.truncated == data.targets_cut == 0
    assert sorted(kept) == ["go down", "go east", "go in", "go up", "go west"]  # not north, south, nor out's target


def test_drop_that_leaves_too_few_pairs_is_refused():
    with pytest.raises(UserError, match='data.long_pairs = "drop" leaves 0 of 8 pairs'):
        split("drop", targets=["far too long"] * 8)


def test_long_pairs_takes_only_its_three_values(tmp_path, tiny_text):
    with pytest.raises(ConfigError, match="data.long_pairs = 'cut' is not one of refuse, truncate, drop"):
        check(tiny_config(tiny_text, tmp_path, data={"long_pairs": "cut"}))


def pairs_config(tmp_path, long_pairs, objective="seq2seq"):
    rows = [{"source": s, "target": t} for s, t in zip(SOURCES * 3, TARGETS * 3)]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tiny_config(path, tmp_path, model={"objective": objective, "target_block_size": 8},
                       data={"long_pairs": long_pairs}, train={"max_steps": 2, "eval_interval": 2})


def test_the_form_check_leaves_long_targets_to_long_pairs(tmp_path):
    assert any("data.long_pairs" in p for p in pair_problems(tmp_path / "pairs.jsonl", pairs_config(tmp_path,
                                                                                                       "refuse")))
    assert pair_problems(tmp_path / "pairs.jsonl", pairs_config(tmp_path, "truncate")) == []


@pytest.mark.parametrize("long_pairs, objective, said", [
    ("drop", "seq2seq", "3 pair(s) longer than the model takes were left out"),
    ("truncate", "instruct", "3 target(s) are longer than model.block_size and were cut to it"),
])
def test_the_runs_log_says_how_many_pairs_were_cut_or_dropped(tmp_path, capsys, long_pairs, objective, said):
    cfg = pairs_config(tmp_path, long_pairs, objective)
    if objective == "instruct":  # the template leaves block_size - 29 tokens for a response: 3
        cfg.model.block_size = 32
    assert main(["train", str(write(cfg, tmp_path / "run.toml")), "--events"]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(e["type"] == "warning" and said in e["message"] for e in printed)  # what the studio reads
    assert said in (tmp_path / "run" / "train.log").read_text()
    started = next(e for e in read_events(tmp_path / "run" / "events.jsonl") if e.type == "started")
    assert started["corpus"]["dropped" if long_pairs == "drop" else "targets_cut"] == 3
