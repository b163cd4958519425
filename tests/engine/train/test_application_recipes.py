"""Two applications' recipes trained to their bars, as resources/recipes says they reach them: the named-entities
tagger (entity F1 of at least 95% on validation) and the few-shot model (better with more examples in its
prompt: near chance with none, right with a few)."""

import json
from pathlib import Path

import pytest

from engine.cli import main
from engine.demo.fewshot import RULES, task_name
from engine.run.events import read_events

RECIPES = Path(__file__).resolve().parents[3] / "resources" / "recipes"


def train_recipe(name: str, tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("ATTENTION_STUDIO_CACHE", str(tmp_path / "cache"))  # where `demo:NAME` is made
    out = tmp_path / "run"
    assert main(["train", str(RECIPES / f"{name}.toml"), "--set", f"data.cache_dir={tmp_path / 'cache'}",
                 "--set", f"train.out_dir={out}", "--events"]) == 0
    return out


@pytest.mark.recipe
def test_the_entities_recipe_tags_with_an_entity_f1_of_95_percent(tmp_path, monkeypatch):
    run = train_recipe("entities", tmp_path, monkeypatch)
    last = [e for e in read_events(run / "events.jsonl") if e.type == "eval"][-1]
    assert last["val_entity_f1"] >= 0.95
    assert set(last["val_entity_types"]) == {"DATE", "LOC", "ORG", "PER"}


@pytest.mark.recipe
def test_the_fewshot_recipe_answers_better_with_more_examples(tmp_path, monkeypatch, capsys):
    run = train_recipe("fewshot", tmp_path, monkeypatch)
    by_k = {}
    for rule in RULES:  # the task files `demo:fewshot` wrote beside its corpus
        task = tmp_path / "cache" / "demos" / task_name(rule)
        capsys.readouterr()
        assert main(["fewshot", str(run), "--task", str(task), "--shots", "0,1,8", "--limit", "50", "--json"]) == 0
        for shot in json.loads(capsys.readouterr().out)["shots"]:
            by_k.setdefault(shot["k"], []).append(shot["accuracy"])
    mean = {k: sum(v) / len(v) for k, v in by_k.items()}
    assert mean[0] < 0.6  # a question alone does not say which rule is meant (chance is 25%)
    assert mean[1] > mean[0] + 0.3 and mean[8] >= 0.9
