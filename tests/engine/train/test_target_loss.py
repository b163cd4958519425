"""train.target_loss: a run stops at the first evaluation at or below it, as a speedrun is scored."""

import pytest

from engine.core.errors import ConfigError
from engine.plan.preflight import check
from engine.run.events import read_events
from engine.run.runinfo import summarize
from tests.conftest import tiny_config
from tests.helpers import train


def test_a_run_stops_at_the_first_evaluation_that_reaches_the_target(tmp_path, tiny_text):
    probe = tiny_config(tiny_text, tmp_path / "p", train={"max_steps": 40, "eval_interval": 10,
                                                           "out_dir": str(tmp_path / "probe")})
    train(probe)
    evals = [e for e in read_events(tmp_path / "probe" / "events.jsonl") if e.type == "eval"]
    target = (evals[1]["val_loss"] + evals[2]["val_loss"]) / 2  # between the step-10 and step-20 losses
    cfg = tiny_config(tiny_text, tmp_path / "t", train={"max_steps": 40, "eval_interval": 10, "target_loss": target})
    trainer = train(cfg)
    events = read_events(tmp_path / "t" / "run" / "events.jsonl")
    assert [e.step for e in events if e.type == "eval"] == [0, 10, 20] and trainer.step == 20
    assert [e["reason"] for e in events if e.type == "finished"] == ["target_reached"]
    assert summarize(tmp_path / "t" / "run").status == "finished"


def test_a_negative_target_is_refused():
    from engine.config.schema import from_dict

    with pytest.raises(ConfigError, match="train.target_loss must be a number >= 0"):
        check(from_dict({"data": {"path": "x.txt"}, "train": {"target_loss": -1.0}}))
