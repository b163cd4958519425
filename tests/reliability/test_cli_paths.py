"""Path and index arguments on the command line: a file where a folder belongs and the other way round,
a file that exists, a folder that is no run, a place outside the queue. Each is refused in one line with
exit status 2, no traceback and nothing written. And the probes on every kind of model either run or
say in one line what the model supports (an encoder-decoder's attention by stack)."""

import json
import shutil

import numpy as np
import pytest

from engine.runqueue.queue_file import RunQueue
from tests.conftest import pangram_text, tiny_config
from tests.helpers import train
from tests.reliability.helpers import digest, engine_here, last_line, refused


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """A tiny trained run, its config, a file, a plain folder, a run without checkpoints, a queue of two."""
    tmp = tmp_path_factory.mktemp("paths")
    corpus = tmp / "corpus.txt"
    corpus.write_text(pangram_text(60))
    cfg = tiny_config(corpus, tmp, train={"max_steps": 2, "eval_interval": 2})
    train(cfg)
    (tmp / "run.toml").write_text((tmp / "run" / "run.toml").read_text())
    (tmp / "a-file").write_text("not a folder")
    (tmp / "taken.json").write_text("someone's file")
    (tmp / "taken.npy").write_text("someone's maps")
    (tmp / "maps.tokens.json").write_text("someone's tokens")
    (tmp / "plain").mkdir()
    (tmp / "untrained").mkdir()
    shutil.copy(tmp / "run.toml", tmp / "untrained" / "run.toml")
    (tmp / "two.toml").write_text('base = "missing.toml"\nmethod = "spiral"\n[fields]\n"train.lr" = [1e-3]\n')
    queue = RunQueue(tmp / "ws")
    ids = [queue.add(cfg).id, queue.add(cfg).id]
    (tmp / "queue-id").write_text(ids[0])
    return tmp




CASES = {  # name: (arguments, words of the one-line answer); {t} is the fixture's folder, {id} a queued run
    "queue move to a negative place": (["queue", "move", "{id}", "--to", "-5", "--workspace", "{t}/ws"],
                                       "--to -5 is not a place in the queue: its 2 run(s) are at places 0 to 1"),
    "queue move beyond the last place": (["queue", "move", "{id}", "--to", "2", "--workspace", "{t}/ws"],
                                         "--to 2 is not a place in the queue"),
    "a workspace that is a file": (["queue", "list", "--workspace", "{t}/a-file"], "--workspace"),
    "a sweep into a workspace that is a file": (["sweep", "{t}/two.toml", "--workspace", "{t}/a-file"],
                                                "is a file; name a folder"),
    "cluster --out onto a file": (["cluster", "{t}/run.toml", "--out", "{t}/a-file"], "is a file; name a folder"),
    "cluster --out under a file": (["cluster", "{t}/run.toml", "--out", "{t}/a-file/job"],
                                   "a-file is a file; name a folder"),
    "demo --out onto a file": (["demo", "copy", "--out", "{t}/a-file"], "is a file; name a folder"),
    "tokenizer --out onto a folder": (["tokenizer", "{t}/run.toml", "--out", "{t}/plain"], "that is a folder"),
    "tokenizer --out onto an existing file": (["tokenizer", "{t}/run.toml", "--out", "{t}/taken.json"],
                                              "taken.json exists: choose a new file name"),
    "tokenizer --out in a missing folder": (["tokenizer", "{t}/run.toml", "--out", "{t}/nowhere/tok.json"],
                                            "nowhere does not exist"),
    "attention --out onto an existing file": (["attention", "{t}/run", "--text", "the fox", "--out",
                                               "{t}/taken.npy"], "taken.npy exists"),
    "attention beside an existing tokens file": (["attention", "{t}/run", "--text", "the fox", "--out",
                                                  "{t}/maps.npy"], "maps.tokens.json exists"),
    "attention --stack on a decoder": (["attention", "{t}/run", "--text", "the fox", "--out", "{t}/new.npy",
                                        "--stack", "cross"], "leave --stack out"),
    "train of a run folder": (["train", "{t}/run"], "is a run folder; continue it with `python -m engine resume"),
    "train of a plain folder": (["train", "{t}/plain"], "is a folder, not a config file"),
    "prepare of a plain folder": (["prepare", "{t}/plain"], "is a folder, not a config file"),
    "generate on a folder that is not a run": (["generate", "{t}/plain"], "is not a run folder"),
    "generate on a file": (["generate", "{t}/a-file"], "is a file, not a run folder"),
    "generate on a run not trained yet": (["generate", "{t}/untrained"], "has no checkpoint yet: train it first"),
    "eval on a folder that is not a run": (["eval", "{t}/plain"], "is not a run folder"),
    "heads on a file": (["heads", "{t}/a-file"], "is a file, not a run folder"),
    "resume of a file": (["resume", "{t}/a-file"], "is a file, not a run folder"),
    "control of a folder that is not a run": (["control", "{t}/plain", "stop"], "is not a run folder"),
    "predict with no guesses": (["predict", "{t}/run", "--text", "a [MASK]", "--top-k", "0"],
                                "--top-k must be at least 1"),
}


@pytest.mark.parametrize("name", CASES)
def test_a_bad_path_or_index_is_refused_in_one_line_and_nothing_is_written(place, name):
    args, expect = CASES[name]
    before = digest(place)
    refused(*[a.format(t=place, id=(place / "queue-id").read_text()) for a in args], expect=expect)
    assert digest(place) == before


def test_a_sweep_file_with_several_problems_names_every_one(place):
    r = engine_here("sweep", place / "two.toml", "--workspace", place / "ws", "--queue-only")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "base config not found" in r.stderr and "method = 'spiral' is not one of grid, random" in r.stderr
    assert last_line(r.stderr) == "error: 2 problems, listed above"


def test_queue_list_names_its_columns(place):
    r = engine_here("queue", "list", "--workspace", place / "ws")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[1].split() == ["place", "id", "name"]
    assert lines[2].split()[:2] == ["0", (place / "queue-id").read_text()]


@pytest.fixture(scope="module")
def seq2seq_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("seq2seq")
    words = ["cat", "dog", "sun", "red", "box", "hat", "pen", "cup"]
    pairs = tmp / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"source": f"the {w}", "target": w[::-1]}) + "\n" for w in words * 4))
    train(tiny_config(pairs, tmp, model={"objective": "seq2seq"}, train={"max_steps": 2, "eval_interval": 2}))
    return tmp / "run"


@pytest.mark.parametrize("stack", ["encoder", "decoder", "cross"])
def test_attention_on_an_encoder_decoder_writes_the_stack_asked_for(seq2seq_run, tmp_path, stack):
    out = tmp_path / "maps.npy"
    r = engine_here("attention", seq2seq_run, "--text", "the dog", "--stack", stack, "--out", out)
    assert r.returncode == 0, r.stderr
    maps, tokens = np.load(out), json.loads(out.with_suffix(".tokens.json").read_text())
    assert maps.shape[:2] == (1, 2) and maps.shape[2:] == (len(tokens["query"]), len(tokens["key"]))
    np.testing.assert_allclose(maps.sum(-1), 1.0, atol=1e-4)  # each query's weights over its keys
    source = tokens["key"] if stack != "decoder" else tokens["query"]
    if stack != "decoder":
        assert "".join(source).startswith("the dog")  # the text is the source
    if stack == "decoder":
        assert not np.triu(maps, 1).any()  # the decoder sees no later target token
    else:
        assert (maps[..., -1] > 0).all()  # the encoder's and cross-attention's queries see the whole source


def test_attention_on_an_encoder_decoder_as_csv_defaults_to_cross_attention(seq2seq_run, tmp_path):
    out = tmp_path / "maps.csv"
    r = engine_here("attention", seq2seq_run, "--text", "the dog", "--out", out)
    assert r.returncode == 0 and "of cross attention" in r.stdout
    rows = out.read_text().splitlines()
    assert rows[0].startswith("layer,head,query_index,query_token,key_index,key_token")
    keys = {row.split(",")[5] for row in rows[1:]}
    assert {"t", "h", "e", "d", "o", "g"} <= keys  # the key tokens are the source's


@pytest.mark.parametrize("args", [["heads"], ["heads", "--text", "the dog"], ["lens", "--text", "the dog"]])
def test_probes_an_encoder_decoder_cannot_take_say_what_it_supports(seq2seq_run, args):
    message = refused(args[0], seq2seq_run, *args[1:], expect="this run supports `attention --stack")
    assert "encoder-decoder (seq2seq)" in message


def test_ablation_on_a_masked_lm_is_refused_before_anything_is_printed(tmp_path, tiny_text):
    train(tiny_config(tiny_text, tmp_path, model={"objective": "masked"}, train={"max_steps": 2, "eval_interval": 2}))
    r = engine_here("heads", tmp_path / "run", "--text", "the quick brown fox")
    assert r.returncode == 2 and r.stdout == ""
    assert "needs a causal language model; this run supports `attention`, `heads`, `lens`" in last_line(r.stderr)
