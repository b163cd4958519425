"""The summary index beside the runs: unchanged runs are listed from it without reading their files, a
changed, new, live or removed run is read again, and a damaged index is rebuilt."""

import json

import pytest

from engine.run import index as index_mod
from engine.run.index import INDEX_FILE, indexed_runs
from engine.run.runinfo import list_runs
from tests.conftest import pangram_text, tiny_config
from tests.helpers import train


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ws") / "runs"
    text = root.parent / "corpus.txt"
    text.write_text(pangram_text())
    for name, steps in (("a", 4), ("b", 6)):
        cfg = tiny_config(text, root.parent, train={"max_steps": steps, "eval_interval": 2,
                                                                "out_dir": str(root / name)})
        cfg.name = name
        train(cfg)
    return root


@pytest.fixture
def counted(monkeypatch):
    read = []
    real = index_mod.summarize
    monkeypatch.setattr(index_mod, "summarize", lambda d: read.append(d.name) or real(d))
    return read


def test_unchanged_runs_come_from_the_index_with_the_same_summaries(runs, counted):
    (runs / INDEX_FILE).unlink(missing_ok=True)
    first = indexed_runs(runs)
    assert sorted(counted) == ["a", "b"] and (runs / INDEX_FILE).is_file()
    counted.clear()
    again = indexed_runs(runs)
    assert counted == []
    plain = list_runs(runs)
    for x, y in zip(again, plain):
        assert (x.name, x.status, x.step, x.best_val_loss, x.last_val_loss, x.checkpoints, x.duration) == \
               (y.name, y.status, y.step, y.best_val_loss, y.last_val_loss, y.checkpoints, y.duration)
        assert x.config.to_dict() == y.config.to_dict()
    assert [s.name for s in first] == [s.name for s in again] == ["a", "b"]


def test_a_changed_or_live_run_is_read_again_and_a_removed_one_dropped(runs, counted, tmp_path):
    indexed_runs(runs)
    counted.clear()
    with open(runs / "b" / "events.jsonl", "a") as f:
        f.write(json.dumps({"v": 1, "type": "status", "time": 1.0, "state": "running"}) + "\n")
    indexed_runs(runs)
    assert counted == ["b"]
    counted.clear()
    (runs / "a" / "lock").write_text(json.dumps({"pid": 1, "host": "another-machine", "time": 0}))
    try:
        assert [s.status for s in indexed_runs(runs)] == ["running", "finished"]
        counted.clear()
        indexed_runs(runs)
        assert counted == ["a"]  # a live run may have died without a word: never trusted from the index
    finally:
        (runs / "a" / "lock").unlink()
    assert indexed_runs(runs)[0].status == "finished"


def test_a_damaged_index_is_rebuilt(runs, counted):
    (runs / INDEX_FILE).write_text("{broken")
    assert [s.name for s in indexed_runs(runs)] == ["a", "b"]
    assert sorted(counted) == ["a", "b"]
    assert json.loads((runs / INDEX_FILE).read_text())["version"] == index_mod.INDEX_VERSION
