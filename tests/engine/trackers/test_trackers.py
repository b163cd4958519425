"""MLflow and W&B as the engine's event listeners, against local stores only: what they hold is read back
with each tool's own reader and compared with the run's events."""

import json

import pytest

from engine.run.events import read_events
from tests.conftest import tiny_config
from tests.helpers import train


def run_events(run, kind):
    return [e for e in read_events(run / "events.jsonl") if e.type == kind]


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_mlflow_holds_the_runs_config_metrics_and_samples_and_a_resume_continues_it(tmp_path, tiny_text):
    mlflow = pytest.importorskip("mlflow")
    cfg = tiny_config(tiny_text, tmp_path, train={"max_steps": 20, "eval_interval": 10}, track={"mlflow": True})
    cfg.name = "mine"
    train(cfg)
    run = tmp_path / "run"
    client = mlflow.tracking.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("attention-studio")
    [logged] = client.search_runs([experiment.experiment_id])
    assert logged.info.run_name == "mine" and logged.info.status == "FINISHED"
    assert logged.data.params["model.n_layer"] == "1" and logged.data.params["train.max_steps"] == "20"
    val = {m.step: m.value for m in client.get_metric_history(logged.info.run_id, "val/loss")}
    assert val == pytest.approx({e.step: e["val_loss"] for e in run_events(run, "eval")})
    steps = client.get_metric_history(logged.info.run_id, "train/loss")
    assert sorted(m.step for m in steps) == [e.step for e in run_events(run, "step")]
    samples = [a.path for a in client.list_artifacts(logged.info.run_id, "samples")]
    assert samples == ["samples/step-000010.txt", "samples/step-000020.txt"]
    assert json.loads((run / "trackers.json").read_text())["mlflow"] == logged.info.run_id

    cfg.train.max_steps = 30
    train(cfg, resume=True)
    [again] = client.search_runs([experiment.experiment_id])  # the same MLflow run, continued
    assert again.info.run_id == logged.info.run_id and again.info.status == "FINISHED"
    assert max(m.step for m in client.get_metric_history(again.info.run_id, "val/loss")) == 30


def wandb_records(path):
    """The records of a .wandb file (a LevelDB-style log after a 7-byte W&B header), parsed with W&B's own
    protobuf messages."""
    from wandb.proto import wandb_internal_pb2 as pb

    data, pos, block, part, out = path.read_bytes(), 7, 32768, b"", []
    assert data[:4] == b":W&B"
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        length, kind = int.from_bytes(data[pos + 4:pos + 6], "little"), data[pos + 6]
        if kind == 0:
            break
        part += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # a full record, or the last piece of one
            record = pb.Record()
            record.ParseFromString(part)
            out.append(record)
            part = b""
    return out


def test_wandb_offline_holds_the_runs_history_and_config_without_the_network(tmp_path, tiny_text, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # nothing may be reached: offline is the default
    cfg = tiny_config(tiny_text, tmp_path, train={"max_steps": 20, "eval_interval": 10}, track={"wandb": True})
    train(cfg)
    run = tmp_path / "run"
    assert not [e for e in run_events(run, "warning") if e["kind"] == "tracker"]
    run_id = json.loads((run / "trackers.json").read_text())["wandb"]
    [log] = (run / "wandb").glob(f"offline-run-*-{run_id}/run-{run_id}.wandb")
    records = wandb_records(log)
    history = [{item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in r.history.item}
               for r in records if r.WhichOneof("record_type") == "history"]
    val = {h["_step"]: h["val/loss"] for h in history if "val/loss" in h}
    assert val == pytest.approx({e.step: e["val_loss"] for e in run_events(run, "eval")})
    assert {h["_step"] for h in history if "train/loss" in h} == {e.step for e in run_events(run, "step")}
    config = {u.key: json.loads(u.value_json) for r in records if r.WhichOneof("record_type") == "run"
              for u in r.run.config.update}
    assert config["model"]["n_layer"] == 1 and config["train"]["max_steps"] == 20


def test_a_tracker_that_cannot_start_is_warned_and_the_run_trains_on(tmp_path, tiny_text):
    pytest.importorskip("mlflow")
    cfg = tiny_config(tiny_text, tmp_path, train={"max_steps": 4, "eval_interval": 2},
                      track={"mlflow": True, "mlflow_uri": "nosuchscheme://nowhere"})
    train(cfg)
    run = tmp_path / "run"
    [warning] = [e for e in run_events(run, "warning") if e["kind"] == "tracker"]
    assert warning["message"].startswith("MLflow could not start, so this run is not logged there: ")
    assert [e.step for e in run_events(run, "eval")] == [0, 2, 4]


def test_every_tracker_gets_the_test_split_at_the_end():
    from engine.run.events import Event
    from engine.trackers.scalars import scalars

    done = Event("finished", 40, fields={"reason": "finished", "test": {"loss": 0.5, "exact_match": 0.9,
                                                                         "confusion": [[1, 0], [0, 1]]}})
    assert scalars(done) == {"test/loss": 0.5, "test/exact_match": 0.9}  # numbers only
    assert scalars(Event("finished", 40, fields={"reason": "finished"})) == {}


def test_tensorboard_holds_the_runs_losses(tmp_path, tiny_text):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = tiny_config(tiny_text, tmp_path, train={"max_steps": 20, "eval_interval": 10, "tensorboard": True})
    train(cfg)
    run = tmp_path / "run"
    board = EventAccumulator(str(run / "tensorboard"))
    board.Reload()
    val = {s.step: s.value for s in board.Scalars("val/loss")}
    assert val == pytest.approx({e.step: e["val_loss"] for e in run_events(run, "eval")}, rel=1e-5)
    assert sorted(s.step for s in board.Scalars("train/loss")) == [e.step for e in run_events(run, "step")]


def test_a_tracker_whose_package_is_missing_is_refused_with_the_command_that_installs_it(monkeypatch, tmp_path,
                                                                                       tiny_text):
    import importlib.util

    from engine.config.rules import problems

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    cfg = tiny_config(tiny_text, tmp_path, train={"tensorboard": True})
    [said] = [p for p in problems(cfg) if "tensorboard" in p]
    assert said.startswith("train.tensorboard needs the tensorboard package") and "./dev install trackers" in said
