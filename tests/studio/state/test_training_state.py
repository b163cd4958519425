"""Which runs train and are paused, and the one line every view shows of a run: Qt-free."""

from pathlib import Path
from types import SimpleNamespace

from engine.core.text import human_seconds
from studio.state.training import TrainingRuns, alongside_question, comparable


class Curve(SimpleNamespace):
    pass


def fake_run(path="runs/a", steps=(0, 10, 20, 30, 40, 50), seconds=1.0, max_steps=1000, version=1):
    times = [i * seconds for i in range(len(steps))]
    last = {"tokens_per_s": 500.0, "step_time": 0.1}
    return SimpleNamespace(path=Path(path), version=version, elapsed=None,
                           curves={"loss": Curve(steps=list(steps), times=times)},
                           last_step=SimpleNamespace(get=last.get, step=steps[-1]),
                           summary=SimpleNamespace(name=Path(path).name, max_steps=max_steps, config=None))


def test_the_status_line_and_the_train_page_say_the_same_progress():
    training, run = TrainingRuns(), fake_run()
    training.set_live({run.path: False})
    line = training.status_line({run.path: run}, run.path)
    assert line == f"Training a: {training.progress_text(run)}"
    assert f"step 50 of 1,000 · about {human_seconds(95.0)} left · 500 tokens/s" in line  # 10 steps a second of 50
    assert training.progress(run) is training.progress(run)  # computed once per new events


def test_paused_reads_paused_everywhere_and_changes_are_announced():
    training, run = TrainingRuns(), fake_run()
    seen = []
    training.changed.connect(lambda: seen.append(dict(training.live)))
    training.set_live({run.path: False})
    training.set_live({run.path: False})  # nothing new: no announcement
    training.set_live({run.path: True})
    assert len(seen) == 2 and training.is_paused(run.path)
    assert training.progress_text(run).startswith("Paused at step 50 of 1,000")
    assert training.status_line({run.path: run}, None).startswith("Paused a: Paused at step 50")
    training.set_live({})
    assert training.status_line({run.path: run}, run.path) == "No run is training"


def test_the_question_before_a_second_run_names_the_slowdown():
    question, button = alongside_question(1)
    assert "2× slower" in question and button == "Run alongside (expect about 2× slower)"
    assert "3× slower" in alongside_question(2)[1]


def test_the_same_design_compares_equal_wherever_it_is_written():
    a = {"name": "x", "train": {"out_dir": "runs/x-1", "lr": 1e-3}, "data": {"cache_dir": "c", "path": "p"}}
    b = {"name": "x", "train": {"out_dir": "queue/7", "lr": 1e-3}, "data": {"cache_dir": "d", "path": "p"}}
    assert comparable(a) == comparable(b) and a["train"]["out_dir"] == "runs/x-1"  # the original is untouched
    assert comparable(a) != comparable({**b, "train": {"lr": 3e-4}})


def test_a_design_training_now_is_known_wherever_it_writes():
    from engine.config.schema import RunConfig

    training, runs = TrainingRuns(), {}
    mine = RunConfig(name="first")
    mine.train.out_dir = "runs/first"
    run = fake_run("runs/first")
    run.summary.config = mine
    runs[run.path] = run
    same = RunConfig(name="first")
    same.train.out_dir = "elsewhere/first"  # where it writes is no part of the design
    other = RunConfig(name="second")
    assert not training.trains_design(same, runs)  # nothing trains yet
    training.set_live({run.path: False})
    assert training.designs(runs) == [comparable(mine.to_dict())]
    assert training.trains_design(same, runs) and not training.trains_design(other, runs)
    training.set_live({})
    assert not training.trains_design(same, runs)
