"""A run says where its time went besides training steps: evaluation, samples, checkpoints."""

from engine.cli import main
from engine.run.events import read_events
from engine.run.humanlog import describe
from engine.train.stopwatch import Stopwatch
from tests.conftest import tiny_config


def test_the_stopwatch_files_time_under_each_activity_and_out_of_the_throughput():
    clock = Stopwatch()

    def evaluate():
        return 42

    def save(best):
        return best

    assert clock.time(evaluate) == 42 and clock.time(save, best=True) is True and clock.time(evaluate) == 42
    assert set(clock.spent) == {"evaluation", "checkpoints"}
    assert clock.excluded == clock.spent["evaluation"] + clock.spent["checkpoints"]
    clock.pause(5.0)
    assert clock.take_excluded() >= 5.0 and clock.excluded == 0.0
    assert "paused" not in clock.spent and sum(clock.spent.values()) < 5.0


def test_the_finished_event_says_what_evaluation_samples_and_checkpoints_took(tmp_path, tiny_text):
    cfg = tiny_config(tiny_text, tmp_path, train={"max_steps": 20, "eval_interval": 10})
    path = tmp_path / "run.toml"
    path.write_text(cfg.to_toml())
    assert main(["train", str(path), "--human"]) == 0
    done = [e for e in read_events(tmp_path / "run" / "events.jsonl") if e.type == "finished"][-1]
    spent = done["time_spent"]
    assert set(spent) == {"evaluation", "samples", "checkpoints"}
    assert all(v >= 0 for v in spent.values()) and sum(spent.values()) < done["elapsed"]
    assert "evaluation " in describe(done) and "% of it" in describe(done)
    assert done["peak_memory"] > 0 and "peak memory " in describe(done)  # the model's memory, measured
