"""The instruct objective on conversations: a tiny run learns (its loss on the assistant's turns falls) and
reports exact match on held-out turns, first and later; `chat` talks with it through the template, `prepare`
and `eval` read conversations as training does, and its export carries the chat template. The dialogue
recipe reaches its bar."""

import json
import random
from pathlib import Path

import pytest

from engine.cli import main
from engine.demo.dialogue import CATALOGUE, answer, dialogue_jsonl
from engine.run.events import read_events
from tests.conftest import tiny_config

RECIPES = Path(__file__).resolve().parents[3] / "resources" / "recipes"


def chat_config(tmp_path):
    corpus = tmp_path / "dialogue.jsonl"
    corpus.write_text(dialogue_jsonl(random.Random(0), 30_000))
    return tiny_config(corpus, tmp_path, tokenizer={"kind": "bpe", "vocab_size": 300},
                       model={"objective": "instruct", "block_size": 256, "n_embd": 48},
                       data={"test_fraction": 0.1}, task={"metric_samples": 8},
                       train={"max_steps": 30, "eval_interval": 15, "lr": 5e-3})


@pytest.fixture(scope="module")
def chat_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chat")
    (tmp / "run.toml").write_text(chat_config(tmp).to_toml())
    assert main(["train", str(tmp / "run.toml"), "--events"]) == 0  # as a user trains: the test split scored at the end
    return tmp


@pytest.mark.slow
def test_a_tiny_chat_run_lowers_its_loss_and_scores_held_out_turns(chat_run):
    events = read_events(chat_run / "run" / "events.jsonl")
    started = next(e for e in events if e.type == "started")
    assert started["arch"] == "gpt" and started["corpus"]["val_turns"] > 0
    evals = [e for e in events if e.type == "eval"]
    assert evals[-1]["val_loss"] < evals[0]["val_loss"] - 1.0
    assert {"val_exact_match", "val_exact_match_first_turns", "val_exact_match_later_turns"} <= set(evals[-1].fields)
    assert "exact_match" in [e for e in events if e.type == "finished"][-1]["test"]
    sample = next(e for e in events if e.type == "sample")
    assert sample["prompt"].startswith("(turn ") and "(reference: " in sample["text"]


@pytest.mark.slow
def test_chat_answers_each_message_in_turn_and_saves_the_conversation(chat_run, capsys):
    run, saved = chat_run / "run", chat_run / "talk.json"
    capsys.readouterr()
    assert main(["chat", str(run), "--system", "You are the assistant of a small shop.", "-m",
                 "How much is the lamp?", "-m", "And what colour is it?", "--max-new-tokens", "12",
                 "--save", str(saved)]) == 0
    replies = capsys.readouterr().out.strip().splitlines()
    assert len(replies) == 2 and not any("###" in r or "<eos>" in r for r in replies)
    roles = [m["role"] for m in json.loads(saved.read_text())["messages"]]
    assert roles == ["system", "user", "assistant", "user", "assistant"]
    assert main(["chat", str(run), "--history", str(saved), "-m", "Is it available?", "--max-new-tokens", "5"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1


@pytest.mark.slow
def test_prepare_eval_and_export_read_the_run_as_training_did(chat_run, capsys):
    run = chat_run / "run"
    capsys.readouterr()
    assert main(["prepare", str(chat_run / "run.toml")]) == 0
    out = capsys.readouterr().out
    assert "conversations" in out and "assistant turns" in out and "every conversation fits" in out
    assert main(["eval", str(run), "--batches", "1"]) == 0
    assert "exact match" in capsys.readouterr().out
    assert main(["export", str(run), "--out", str(chat_run / "hf")]) == 0
    config = json.loads((chat_run / "hf" / "tokenizer_config.json").read_text())
    assert config["chat_template"].startswith("{% for message in messages %}")


def test_chat_refuses_in_one_line_before_loading_anything(tmp_path, capsys, tiny_text):
    causal = tmp_path / "causal"
    causal.mkdir()
    (causal / "run.toml").write_text(tiny_config(tiny_text, tmp_path).to_toml())
    history = tmp_path / "h.json"
    history.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "robot",
                                                                                   "content": "x"}]}))
    for argv, said in [(["chat", str(causal), "-m", "hi"], "chat talks with an instruct run"),
                       (["chat", str(causal), "-m", " "], "--message: message 1: the user message is empty"),
                       (["chat", str(causal), "--history", str(history)], "message 2: the role 'robot'"),
                       (["chat", str(causal), "--system", ""], "--system is empty"),
                       (["chat", str(causal), "-m", "hi", "--temperature", "-1"], "--temperature must be")]:
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and said in err[0], err


@pytest.mark.recipe
def test_the_dialogue_recipe_answers_held_out_turns_and_remembers_the_item(tmp_path, capsys):
    code = main(["train", str(RECIPES / "dialogue.toml"), "--set", f"data.cache_dir={tmp_path / 'cache'}",
                 "--set", f"train.out_dir={tmp_path / 'run'}", "--events"])
    assert code == 0
    events = read_events(tmp_path / "run" / "events.jsonl")
    last = [e for e in events if e.type == "eval"][-1]
    assert last["val_exact_match"] >= 0.9 and last["val_exact_match_later_turns"] >= 0.9
    assert [e for e in events if e.type == "finished"][-1]["test"]["exact_match"] >= 0.9
    capsys.readouterr()
    item = "mirror"
    assert main(["chat", str(tmp_path / "run"), "-m", f"What colour is the {item}?", "-m", "And how much is it?"]) == 0
    assert capsys.readouterr().out.strip().splitlines() == [answer(item, "colour"), answer(item, "price")]
    assert item in CATALOGUE
