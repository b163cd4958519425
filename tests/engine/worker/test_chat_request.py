"""The worker's chat request (engine/worker/chat.py): an instruct run's reply to a conversation streams a token at a
time and is the reply `engine chat` prints; bad messages are refused in a sentence and the worker goes on serving."""

import io
import json
import re
import shutil

import pytest

from engine.cli import main
from engine.worker.serve import Worker
from tests.conftest import tiny_config
from tests.helpers import train_chat_demo

SYSTEM = "You are the assistant of a small shop."
ASKED = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "How much is the lamp?"}]


def served(*requests) -> list[dict]:
    """Every answer the worker writes to `requests`, read and done in this process as `engine serve` does them."""
    out = io.StringIO()
    worker = Worker(out=out)
    try:
        for request in requests:
            worker.take(json.dumps(request))
        worker.requests.put(None)
        worker.serve()
    finally:
        shutil.rmtree(worker.tmp, ignore_errors=True)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def ending(answers: list[dict], rid) -> dict:
    return next(a for a in answers if a["id"] == rid and a["type"] in ("done", "error"))


def plain(message: str) -> bool:
    """A sentence, not an exception's raw text."""
    return not re.search(r"\b\w+(Error|Exception)\b|Traceback|Errno", message)


@pytest.fixture(scope="module")
def chat_run(tmp_path_factory):
    return train_chat_demo(tmp_path_factory.mktemp("chat"))


def chat(rid, run, messages, **options) -> dict:
    return {"id": rid, "op": "chat", "run": str(run), "messages": messages,
            "options": {"temperature": 0.0, "max_new_tokens": 40} | options}


@pytest.mark.slow  # a tiny run trained for a few seconds
def test_a_chat_reply_streams_and_is_the_reply_chat_prints(chat_run, capsys):
    answers = served(chat(1, chat_run, ASKED), chat(2, chat_run, ASKED, max_new_tokens=3))
    tokens = [a["text"] for a in answers if a["id"] == 1 and a["type"] == "token"]
    done = ending(answers, 1)
    assert done["type"] == "done" and tokens and done["result"]["cut"] is None
    assert done["result"]["reply"] == "".join(tokens).strip()
    assert (done["result"]["reason"] == "end") == (len(tokens) < 40)  # it ends at the end of its turn, or the cap
    assert "<eos>" not in done["result"]["reply"] and "###" not in done["result"]["reply"]
    short = ending(answers, 2)["result"]
    assert short["reason"] == "length" and len([a for a in answers if a["id"] == 2 and a["type"] == "token"]) == 3
    capsys.readouterr()
    assert main(["chat", str(chat_run), "--system", SYSTEM, "-m", "How much is the lamp?",
                 "--max-new-tokens", "40"]) == 0
    assert capsys.readouterr().out.strip() == done["result"]["reply"]  # one template, one greedy reply


@pytest.mark.slow
def test_a_long_conversation_is_said_to_be_cut_and_beams_are_refused(chat_run):
    long = [{"role": "user", "content": "How much is the lamp? " * 80}]
    answers = served(chat(1, chat_run, long, max_new_tokens=2), chat(2, chat_run, ASKED, beams=2),
                     chat(3, chat_run, long, max_new_tokens=200))
    warning = next(a["message"] for a in answers
                   if a["id"] == 1 and a["type"] == "progress" and "warning" in a["message"])
    assert "longer than this model's context of 256 (model.block_size)" in warning
    assert ending(answers, 1)["result"]["cut"] in warning
    assert ending(answers, 3)["result"]["reason"] == "context"  # the context filled up, not the 200 new tokens
    refused = ending(answers, 2)
    assert refused["type"] == "error" and refused["message"] == (
        "beams must be 1 in a chat: a reply streams a token at a time (greedy or sampled)")


BAD = [  # (messages, the words of the sentence that refuses them)
    ([{"role": "bot", "content": "hi"}],
     "messages: message 1: the role 'bot' is not one the chat template knows (system, user, assistant)"),
    ([{"role": "user", "content": "  "}], "messages: message 1: the user message is empty"),
    ([], "messages: the conversation has no messages"),
    ("hi", 'messages must be a list of {"role", "content"} messages (system, user, assistant)'),
    ([{"role": "user", "content": 3}], "message 1: the user message's content is int, not text"),
    ([{"role": "user", "content": "hi"}, {"role": "system", "content": "be brief"}],
     "message 2 is a system message: only the first message may be one"),
    ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
     "the last message is the assistant's: a reply answers the user, so the messages end with the user's"),
    ([{"role": "system", "content": SYSTEM}], "the last message is the system's"),
    ([{"role": "user", "content": "a <eos> b"}], "the user message holds <eos>, the end-of-turn token"),
]


def test_bad_messages_are_refused_in_a_sentence_and_the_worker_goes_on(tmp_path, tiny_text):
    run = tmp_path / "causal"
    run.mkdir()
    (run / "run.toml").write_text(tiny_config(tiny_text, tmp_path).to_toml())
    requests = [chat(i, run, messages) for i, (messages, _) in enumerate(BAD)]
    answers = served(*requests, chat("causal", run, ASKED), {"id": "last", "op": "ping"})
    for i, (_, words) in enumerate(BAD):
        said = ending(answers, i)
        assert said["type"] == "error" and words in said["message"] and plain(said["message"]), said
    causal = ending(answers, "causal")  # refused before a model is loaded: this folder has none
    assert causal["type"] == "error" and causal["message"] == (
        "chat talks with an instruct run (a decoder that learnt the assistant's turns); causal is a causal run: "
        "generate or predict with it instead")
    assert ending(answers, "last")["type"] == "done"
