"""Pair objectives on the command line and in the worker: `prepare` and `tokenizer` read a pairs file as
training does; seq2seq generation says what it cut and caps its target; the worker answers a stop, takes an
attention stack and writes seq2seq targets greedily by default, as `generate` does."""

import json
import subprocess
import sys

import numpy as np
import pytest
import tomli_w

from engine.data.tokenizer import Tokenizer
from tests.reliability.helpers import ROOT, engine, engine_here, env

TARGET = 12


def pairs_config(tmp_path, objective="seq2seq", **model):
    corpus = tmp_path / "pairs.jsonl"
    rows = [{"source": f"abc {i} def", "target": f"xyz {i}!"} for i in range(24)]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = {"data": {"path": str(corpus), "cache_dir": str(tmp_path / "cache")}, "tokenizer": {"kind": "char"},
           "model": {"objective": objective, "n_layer": 1, "n_head": 2, "n_embd": 32,
                                     "block_size": 16} | model,
           "train": {"batch_size": 4, "max_steps": 3, "eval_interval": 3, "eval_batches": 1, "device": "cpu",
                     "threads": 1, "sample_interval": -1, "out_dir": str(tmp_path / "run")}}
    path = tmp_path / f"{objective}.toml"
    path.write_text(tomli_w.dumps(cfg))
    return path


@pytest.mark.parametrize("objective", ["seq2seq", "instruct"])
def test_prepare_reads_a_pairs_file_as_training_does(tmp_path, objective):
    model = {"block_size": 64} if objective == "instruct" else {}  # room for the prompt template
    r = engine_here("prepare", pairs_config(tmp_path, objective, **model))
    assert r.returncode == 0, r.stderr
    assert "no column 'text'" not in r.stderr + r.stdout
    assert "training a char tokenizer on sources and targets" in r.stderr
    assert "pairs 24 (train " in r.stdout and "validation " in r.stdout and "test 0)" in r.stdout
    assert "source tokens: mean" in r.stdout and "target tokens: mean" in r.stdout
    assert "every pair fits" in r.stdout


def test_prepare_says_what_long_pairs_did(tmp_path):
    cfg = pairs_config(tmp_path, target_block_size=4)
    r = engine_here("prepare", cfg, "--set", "data.long_pairs=truncate")
    assert r.returncode == 0, r.stderr
    assert "24 target(s) longer than 3 tokens (model.target_block_size) were cut" in r.stdout
    r = engine_here("prepare", cfg)  # refuse: the long target is refused in words, as training refuses it
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("error: the target of row")


def test_tokenizer_learns_sources_and_targets(tmp_path):
    out = tmp_path / "tok.json"
    r = engine_here("tokenizer", pairs_config(tmp_path), "--out", out)
    assert r.returncode == 0, r.stderr
    tok = Tokenizer.load(out)
    assert tok.unknown_characters("abcxyz!") == [] and tok.token_id("<eos>") is not None


@pytest.fixture(scope="module")
def s2s_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("s2s")
    r = engine("train", pairs_config(tmp, target_block_size=TARGET), "--human")
    assert r.returncode == 0, r.stderr[-2000:]
    return tmp / "run"


def test_generate_warns_of_a_cut_source_unknown_characters_and_caps_the_target(s2s_run):
    r = engine_here("generate", s2s_run, "--prompt", "abc " * 20 + "Q")
    assert r.returncode == 0, r.stderr
    warnings = [ln for ln in r.stderr.splitlines() if ln.startswith("warning: ")]
    assert any("only the first 15 were kept" in w for w in warnings), r.stderr
    assert any("does not know 'Q'" in w for w in warnings), r.stderr
    assert sum(f"at most {TARGET} tokens" in w for w in warnings) == 1, r.stderr
    assert len(r.stdout.rstrip("\n")) <= TARGET  # a char tokenizer: a token a character


def test_attention_stack_target_is_capped_and_its_help_says_so(s2s_run, tmp_path):
    out = tmp_path / "cross.npy"
    r = engine_here("attention", s2s_run, "--text", "abc 1 def", "--stack", "cross", "--out", out)
    assert r.returncode == 0, r.stderr
    assert np.load(out).shape[2] <= TARGET + 1  # the target and its end token
    help_text = " ".join(engine_here("attention", "--help").stdout.split())
    assert "greedy output, at most model.target_block_size" in help_text


def test_worker_answers_a_stop_takes_a_stack_and_is_greedy_like_generate(s2s_run):
    proc = subprocess.Popen([sys.executable, "-m", "engine", "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env(), cwd=ROOT, text=True)

    def ask(req) -> dict:
        proc.stdin.write(json.dumps(req) + "\n")
        proc.stdin.flush()
        while True:
            reply = json.loads(proc.stdout.readline())
            if reply["id"] == req.get("id") and reply["type"] in ("done", "error"):
                return reply

    def texts(rid) -> str:
        return "".join(t["text"] for t in tokens.get(rid, []))

    try:
        stop = ask({"op": "stop", "target": 1})
        assert stop == {"id": None, "type": "done", "result": {"target": 1, "stopping": False}}
        assert ask({"id": "s", "op": "stop", "target": 7})["result"]["stopping"] is False
        a = ask({"id": 2, "op": "attention", "run": str(s2s_run), "text": "abc 2 def", "stack": "decoder"})
        assert a["type"] == "done" and a["result"]["stack"] == "decoder", a
        maps = np.load(a["result"]["maps"])
        assert maps.shape[2] == len(a["result"]["tokens"]) and maps.shape[3] == len(a["result"]["keys"])
        assert ask({"id": 3, "op": "attention", "run": str(s2s_run), "text": "x", "stack": "sideways"})[
            "type"] == "error"
        tokens: dict = {}
        proc.stdin.write(json.dumps({"id": 4, "op": "generate", "run": str(s2s_run), "prompt": "abc 3 def"}) + "\n")
        proc.stdin.flush()
        while (reply := json.loads(proc.stdout.readline()))["type"] not in ("done", "error"):
            if reply["type"] == "token":
                tokens.setdefault(reply["id"], []).append(reply)
        assert reply["type"] == "done", reply
        assert len(tokens.get(4, [])) <= TARGET
    finally:
        proc.stdin.close()
        proc.wait(timeout=600)
    cli = engine_here("generate", s2s_run, "--prompt", "abc 3 def")
    assert cli.returncode == 0 and cli.stdout.rstrip("\n") == texts(4)
