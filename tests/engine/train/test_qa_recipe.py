"""The qa recipe trained whole reaches its bar: exact match of at least 90% on the demo's validation questions
(resources/recipes/qa.toml: 20 of 20 runs on a GPU, 2 of 2 on this CPU). Alone in its file, so that the test process
that takes it, first, holds nothing else behind it."""

import pytest

from engine.run.events import read_events
from engine.run.folder import EVENTS_FILE


@pytest.mark.recipe(minutes=13)  # one thread; the longest test: scheduled first (tests/conftest.py)
def test_the_qa_recipe_reaches_an_exact_match_of_90_percent_on_validation(tmp_path):
    from pathlib import Path

    from engine.cli import main
    from engine.demo import make_demo_corpus

    recipe = Path(__file__).resolve().parents[3] / "resources" / "recipes" / "qa.toml"
    corpus = make_demo_corpus("qa", tmp_path)  # the demo as `demo:qa` makes it
    assert main(["train", str(recipe), "--set", f"data.path={corpus}", "--set", f"data.cache_dir={tmp_path / 'cache'}",
                 "--set", f"train.out_dir={tmp_path / 'run'}", "--events"]) == 0
    last = [e for e in read_events(tmp_path / "run" / EVENTS_FILE) if e.type == "eval"][-1]
    assert last["val_exact_match"] >= 0.9 and last["val_f1"] >= last["val_exact_match"]
