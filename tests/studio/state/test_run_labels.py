from pathlib import Path

from studio.state.run_labels import run_labels


def test_runs_of_one_name_are_told_apart_by_their_folders_and_others_keep_their_names():
    runs = [(Path("/w/runs/demo"), "demo"), (Path("/w/runs/first"), "first"), (Path("/w/runs/demo-2"), "demo")]
    assert run_labels(runs) == ["demo (demo)", "first", "demo (demo-2)"]
    assert len(set(run_labels(runs))) == 3  # a legend entry and a curve each
    assert run_labels([(Path("/w/runs/demo"), "demo")]) == ["demo"] and run_labels([]) == []
