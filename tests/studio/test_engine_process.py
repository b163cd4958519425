"""An engine command run in the background says why it failed in the engine's own words (studio/engine_process.py)."""

from studio.engine_process import refusal


def test_the_engines_error_line_is_the_sentence():
    lines = ["checkpoint  step", "warning: step-000010 is damaged: passed over",
             "error: --layer 3 does not exist: this model has 2 layers, 0 to 1"]
    assert refusal(lines, 2, False) == "--layer 3 does not exist: this model has 2 layers, 0 to 1"


def test_several_problems_are_listed_and_a_crash_is_said():
    lines = ["  - train.lr must be positive", "  - data.path is missing", "error: 2 problems, listed above"]
    assert refusal(lines, 2, False) == "train.lr must be positive; data.path is missing"
    assert refusal([], 9, True) == "the engine process was stopped or crashed before it finished"
    assert refusal(["Killed"], 137, False) == "the engine process stopped (exit code 137): Killed"
