"""Chat data read as people share it: JSONL `messages` lists and ShareGPT's `conversations` (JSONL or one JSON
list), both giving the same conversations; a bad conversation refused in a sentence naming its file and line,
at the CLI with exit status 2, one line, and no run folder."""

import json

import pytest

from engine.cli import main
from engine.core.errors import UserError
from engine.data.chat_data import chat_files, read_conversations, read_history
from engine.data.corpus_check import corpus_problems
from tests.conftest import tiny_config

CHATS = [[{"role": "system", "content": "You sell lamps."}, {"role": "user", "content": "Price?"},
          {"role": "assistant", "content": "12 euros."}, {"role": "user", "content": "Colour?"},
          {"role": "assistant", "content": "Blue."}],
         [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi!"}]] * 3
SPEAKERS = {"system": "system", "user": "human", "assistant": "gpt"}


def sharegpt(chat):
    return {"id": "x", "conversations": [{"from": SPEAKERS[m["role"]], "value": m["content"]} for m in chat]}


def jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_messages_and_sharegpt_layouts_read_as_the_same_conversations(tmp_path):
    messages = jsonl(tmp_path / "messages.jsonl", [{"messages": c} for c in CHATS])
    shared = jsonl(tmp_path / "sharegpt.jsonl", [sharegpt(c) for c in CHATS])
    listed = tmp_path / "sharegpt.json"
    listed.write_text(json.dumps([sharegpt(c) for c in CHATS], indent=2))
    for path in (messages, shared, listed):
        assert chat_files(str(path)) == [path]
        assert read_conversations(str(path)) == CHATS


def test_a_table_of_pairs_or_plain_text_is_not_chat_data(tmp_path):
    pairs = jsonl(tmp_path / "pairs.jsonl", [{"source": "a", "target": "b"}])
    text = tmp_path / "c.txt"
    text.write_text("hello\n")
    assert chat_files(str(pairs)) is None and chat_files(str(text)) is None


BAD = [
    ([{"messages": [{"role": "user", "content": "hi"}]}], "line 1: the conversation has no assistant turn"),
    ([{"messages": [{"role": "tool", "content": "x"}, {"role": "assistant", "content": "y"}]}],
     "line 1: message 1: the role 'tool' is not one the chat template knows"),
    ([{"conversations": [{"from": "bing", "value": "x"}, {"from": "gpt", "value": "y"}]}],
     "line 1: message 1: the speaker 'bing' is not one the chat template knows"),
    ([{"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "y"}]}],
     "line 1: message 1: the user message is empty"),
    ([{"text": "hello"}], "line 1: a conversation is a `messages` list"),
]


@pytest.mark.parametrize("records, message", BAD)
def test_a_bad_conversation_is_refused_naming_its_line(tmp_path, records, message):
    path = jsonl(tmp_path / "chat.jsonl", [{"messages": CHATS[0]}] + records + [{"messages": CHATS[1]}] * 4)
    message = message.replace("line 1", "line 2")
    with pytest.raises(UserError, match=f"chat.jsonl {message}".replace("(", r"\(")):
        read_conversations(str(path))


def test_too_few_conversations_are_refused(tmp_path):
    with pytest.raises(UserError, match="has 2 conversation"):
        read_conversations(str(jsonl(tmp_path / "chat.jsonl", [{"messages": c} for c in CHATS[:2]])))


@pytest.mark.parametrize("records, message", [BAD[0], BAD[1]])
def test_the_cli_refuses_a_bad_conversation_in_one_line_and_writes_nothing(tmp_path, capsys, records, message):
    path = jsonl(tmp_path / "chat.jsonl", [{"messages": c} for c in CHATS] + records)
    cfg = tiny_config(path, tmp_path, model={"objective": "instruct", "block_size": 64})
    (tmp_path / "run.toml").write_text(cfg.to_toml())
    assert main(["train", str(tmp_path / "run.toml"), "--events"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: chat.jsonl line 7: ") and message.split(": ", 1)[1] in err[0]
    assert not (tmp_path / "run").exists() and not (tmp_path / "cache").exists()


def test_conversations_offered_to_another_objective_name_the_one_that_reads_them(tmp_path):
    path = jsonl(tmp_path / "chat.jsonl", [{"messages": c} for c in CHATS])
    (problem,) = corpus_problems(tiny_config(path, tmp_path))
    assert "holds conversations" in problem and 'model.objective = "instruct"' in problem
    assert corpus_problems(tiny_config(path, tmp_path, model={"objective": "instruct"})) == []


def test_a_history_is_one_conversation_that_may_end_with_the_users_turn(tmp_path):
    path = tmp_path / "history.json"
    path.write_text(json.dumps(sharegpt(CHATS[0][:4])))
    assert read_history(path) == CHATS[0][:4]
    path.write_text(json.dumps(CHATS[1][:1]))  # a bare list of messages
    assert read_history(path) == CHATS[1][:1]
    jsonl(path, [{"messages": c} for c in CHATS[:2]])
    with pytest.raises(UserError, match="holds 2 conversations: a history is one"):
        read_history(path)
