"""data.test_fraction for every objective: held out of training and validation, scored once at the end
(the finished event's `test`), and refused in words when it leaves too little."""

import pytest

from engine.cli import main
from engine.core.errors import UserError
from engine.demo import make_demo_corpus
from engine.run.events import read_events
from engine.run.runinfo import summarize
from tests.conftest import tiny_config
from tests.helpers import train


def finished_test(run):
    events = read_events(run / "events.jsonl")
    started = next(e for e in events if e.type == "started")
    return started["corpus"], next(e for e in events if e.type == "finished").get("test")


@pytest.mark.parametrize("objective", ["causal", "masked"])
def test_a_token_stream_holds_out_its_test_stretch(tmp_path, tiny_text, objective):
    cfg = tiny_config(tiny_text, tmp_path, model={"objective": objective}, data={"test_fraction": 0.2},
                      train={"max_steps": 4, "eval_interval": 2})
    from engine.run.events import EventWriter
    from engine.train.trainer import Trainer

    writer = EventWriter(None)
    trainer = Trainer(cfg, events=writer)
    trainer.setup()
    try:
        task = trainer.task
        total = task.corpus.stats.tokens
        assert len(task.test_tokens) == round(total * 0.2)
        assert len(task.train_tokens) + len(task.test_tokens) + len(task.val_tokens) == total
        trainer.fit()
        test = task.evaluate_test(trainer.model)
        writer.emit("finished", trainer.step, reason="finished", test=test)
    finally:
        trainer.close()
        writer.close()
    assert test["loss"] > 0 and (objective == "causal") == ("ppl" in test and "accuracy" not in test)
    corpus, shown = finished_test(tmp_path / "run")
    assert corpus["test_tokens"] == len(task.test_tokens) and shown == test
    assert summarize(tmp_path / "run").test == test  # what the Runs page's Test column reads


def test_a_classifier_scores_its_test_rows_through_the_cli(tmp_path):
    corpus = make_demo_corpus("balanced", tmp_path / "data", size_bytes=12_000)
    cfg = tiny_config(corpus, tmp_path, model={"objective": "classify", "block_size": 32},
                      data={"test_fraction": 0.25}, train={"max_steps": 4})
    (tmp_path / "run.toml").write_text(cfg.to_toml())
    assert main(["train", str(tmp_path / "run.toml"), "--events"]) == 0
    corpus_stats, test = finished_test(tmp_path / "run")
    rows = corpus_stats["documents"]
    assert corpus_stats["test_examples"] == round(rows * 0.25) and 0 <= test["accuracy"] <= 1 and "macro_f1" in test


def test_no_test_split_means_no_test_result(tmp_path, tiny_text):
    train(tiny_config(tiny_text, tmp_path))
    assert finished_test(tmp_path / "run")[1] is None


def test_a_test_split_that_leaves_too_little_is_refused_in_words(tmp_path):
    small = tmp_path / "small.txt"
    small.write_text("The quick brown fox jumps over the lazy dog. " * 20)  # 900 characters
    cfg = tiny_config(small, tmp_path, model={"block_size": 64}, data={"test_fraction": 0.05})
    with pytest.raises(UserError, match="data.test_fraction = 0.05 holds out 45 of 900 tokens"):
        train(cfg)
    assert not (tmp_path / "run").exists()
