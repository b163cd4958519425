"""Sweeps expand into normal run configs; the workspace queue keeps, reorders and pauses them; the command
line runs a sweep through the queue, one run after another."""

import pytest

from engine.cli import main
from engine.config import schema as config_mod
from engine.core.errors import ConfigError, UserError
from engine.run.runinfo import summarize
from engine.runqueue.queue_file import RunQueue
from engine.runqueue.sweep import load_sweep, point_configs, points
from tests.conftest import tiny_config


@pytest.fixture
def base(tmp_path, tiny_text):
    cfg = tiny_config(tiny_text, tmp_path, train={"max_steps": 4, "eval_interval": 2})
    path = tmp_path / "base.toml"
    path.write_text(cfg.to_toml())
    return path


def sweep_file(tmp_path, body: str):
    path = tmp_path / "s.toml"
    path.write_text('name = "lr"\nbase = "base.toml"\n' + body)
    return path


def test_a_grid_is_every_combination_and_each_point_a_named_run_config(tmp_path, base):
    s = load_sweep(sweep_file(tmp_path, '[fields]\n"train.lr" = [1e-3, 3e-3]\n"model.n_embd" = [32, 64]\n'))
    configs = point_configs(s)
    assert [(c.train.lr, c.model.n_embd) for c in configs] == [(1e-3, 32), (1e-3, 64), (3e-3, 32), (3e-3, 64)]
    assert [c.name for c in configs] == ["lr-000", "lr-001", "lr-002", "lr-003"]
    assert all(c.sweep == "lr" and c.swept == ["train.lr", "model.n_embd"] for c in configs)
    back = config_mod.loads(configs[1].to_toml())
    assert back.sweep == "lr" and back.swept == ["train.lr", "model.n_embd"] and back.model.n_embd == 64


def test_a_random_search_draws_from_lists_and_ranges_reproducibly(tmp_path, base):
    body = ('method = "random"\nsamples = 20\nseed = 3\n[fields]\n"train.lr" = {min = 1e-4, max = 1e-2, log = true}\n'
            '"train.batch_size" = [2, 4]\n"train.warmup_steps" = {min = 0, max = 3}\n')
    s = load_sweep(sweep_file(tmp_path, body))
    drawn = points(s)
    assert drawn == points(load_sweep(sweep_file(tmp_path, body)))  # the same seed, the same points
    assert len(drawn) == 20 and all(1e-4 <= p["train.lr"] <= 1e-2 for p in drawn)
    assert {p["train.batch_size"] for p in drawn} == {2, 4}
    assert all(isinstance(p["train.warmup_steps"], int) and 0 <= p["train.warmup_steps"] <= 3 for p in drawn)
    small = sum(p["train.lr"] < 1e-3 for p in drawn)
    assert 4 <= small <= 16  # a log scale puts about half below the geometric middle


@pytest.mark.parametrize("body, expect", [
    ('[fields]\n"train.learning_rate" = [1]\n', "unknown field 'train.learning_rate'"),
    ('[fields]\n"train.lr" = []\n', "non-empty list"),
    ('[fields]\n"train.lr" = {min = 1, max = 2}\n', 'needs method = "random"'),
    ('method = "random"\n[fields]\n"train.lr" = {min = 0.0, max = 1.0, log = true}\n', "log range needs min > 0"),
    ('[fields]\n"train.seed" = [' + ", ".join(map(str, range(40))) + ']\n"train.batch_size" = ['
     + ", ".join(map(str, range(1, 40))) + "]\n", "1,560 points"),
    ('[fields]\n"model.n_head" = [2, 3]\n', "point 1 (model.n_head = 3): model.n_head (3) must divide"),
])
def test_bad_sweeps_are_refused_with_the_field_or_point(tmp_path, base, body, expect):
    with pytest.raises((ConfigError, UserError)) as e:
        point_configs(load_sweep(sweep_file(tmp_path, body)))
    assert expect in " ".join(getattr(e.value, "problems", None) or [str(e.value)])


def test_the_queue_keeps_its_order_across_readers_and_can_be_reordered_paused_and_emptied(tmp_path, base):
    queue = RunQueue(tmp_path / "ws")
    cfg = config_mod.load(base)
    ids = []
    for name in ("a", "b", "c"):
        cfg.name = name
        ids.append(queue.add(cfg).id)
    again = RunQueue(tmp_path / "ws")  # another process (the studio) reads the same file
    assert [i.name for i in again.items()] == ["a", "b", "c"]
    again.move(ids[2], 0)
    again.remove(ids[0])
    assert [i.name for i in queue.items()] == ["c", "b"]
    item = queue.items()[0]
    assert config_mod.load(item.config).train.out_dir == item.run_dir
    queue.set_paused(True)
    assert queue.pop() is None and len(queue.items()) == 2
    queue.set_paused(False)
    assert queue.pop().name == "c" and [i.name for i in queue.items()] == ["b"]
    with pytest.raises(UserError, match="no run 'nope' in the queue"):
        queue.remove("nope")


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_a_sweep_from_the_command_line_runs_every_point_through_the_queue(tmp_path, base, capsys):
    path = sweep_file(tmp_path, '[fields]\n"train.lr" = [1e-3, 3e-3]\n')
    ws = tmp_path / "ws"
    assert main(["sweep", str(path), "--workspace", str(ws), "--queue-only"]) == 0
    assert "queued lr-000: train.lr = 0.001" in capsys.readouterr().out
    assert main(["queue", "list", "--workspace", str(ws)]) == 0
    assert "2 run(s) waiting" in capsys.readouterr().out
    assert main(["queue", "run", "--workspace", str(ws)]) == 0
    out = capsys.readouterr().out
    runs = sorted((ws / "runs").iterdir())
    assert [summarize(r).status for r in runs] == ["finished", "finished"]
    assert [summarize(r).config.train.lr for r in runs] == [1e-3, 3e-3]
    assert out.count(": finished, best validation loss") == 2 and not RunQueue(ws).items()
    assert all(summarize(r).config.sweep == "lr" for r in runs)


def test_queue_mistakes_are_said_in_one_line(tmp_path, capsys):
    ws = str(tmp_path / "ws")
    for argv, expect in ((["queue", "add", "--workspace", ws], "needs a run config"),
                         (["queue", "remove", "--workspace", ws], "needs the run's id"),
                         (["queue", "move", "x", "--workspace", ws], "needs --to N"),
                         (["queue", "remove", "x", "--workspace", ws], "no run 'x' in the queue")):
        assert main(argv) == 2
        assert expect in capsys.readouterr().err
    (tmp_path / "ws" / "queue.json").write_text("{not json")
    assert main(["queue", "list", "--workspace", ws]) == 2
    assert "is damaged" in capsys.readouterr().err
