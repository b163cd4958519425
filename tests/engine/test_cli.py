"""The command line: bad inputs get one line and exit status 2, and leave no run folder behind."""

import os
import subprocess
import sys

import pytest

from engine.cli import main
from tests.conftest import SHAKESPEARE
from tests.helpers import write_config


def _binary(tmp_path):
    p = tmp_path / "binary.txt"
    p.write_bytes(os.urandom(4000) + b"\x00")
    return p


def _file(name, content):
    def make(tmp_path):
        p = tmp_path / name
        p.write_bytes(content)
        return p
    return make


GOOD = lambda tmp_path: SHAKESPEARE  # noqa: E731

CASES = {
    "missing file": (lambda t: t / "nope.txt", {}, "corpus not found"),
    "empty file": (_file("empty.txt", b""), {}, "empty.txt is empty"),
    "binary file": (_binary, {}, "looks binary"),
    "non-UTF-8 text": (_file("latin.txt", "café naïve\n".encode("latin-1") * 50), {}, "not valid utf-8"),
    "unknown column": (_file("nocol.csv", b"a,b\n1,2\n3,4\n"), {"data": {"text_column": "text"}},
                       "has no column 'text'"),
    "heads do not divide width": (GOOD, {"model": {"n_head": 3}}, r"n_head \(3\) must divide"),
    "context longer than data": (_file("short.txt", b"tiny corpus here\n" * 3), {"model": {"block_size": 64}},
                                 "fewer than model.block_size"),
    "vocabulary too small": (GOOD, {"tokenizer": {"kind": "bpe", "vocab_size": 100}}, "vocab_size 100 is too small"),
    "model vocabulary below the tokenizer's": (GOOD, {"model": {"vocab_size": 10}}, "smaller than the tokenizer"),
    "negative learning rate": (GOOD, {"train": {"lr": -0.1}}, "train.lr must be positive"),
    "unknown optimizer": (GOOD, {"train": {"optimizer": "adamx"}}, "did you mean 'adam'"),
    "zero batch size": (GOOD, {"train": {"batch_size": 0}}, "train.batch_size must be at least 1"),
    "unknown key": (GOOD, {"train": {"learning_rate": 0.1}}, "unknown key train.learning_rate"),
    "wrong type": (GOOD, {"model": {"dropout": "high"}}, "model.dropout must be a number"),
    "no GPU": (GOOD, {"train": {"device": "cuda:7"}}, "cuda:7"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_explained_in_one_line(tmp_path, capsys, name):
    make, parts, message = CASES[name]
    cfg = write_config(tmp_path, make(tmp_path), **parts)
    code = main(["train", str(cfg), "--human"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    import re

    assert re.search(message, err.strip().splitlines()[-1], re.IGNORECASE), err
    assert not (tmp_path / "run" / "run.toml").exists()


def test_invalid_toml_and_missing_config(tmp_path, capsys):
    (tmp_path / "bad.toml").write_text("[data\npath = ")
    assert main(["train", str(tmp_path / "bad.toml")]) == 2
    assert "bad.toml is not valid TOML" in capsys.readouterr().err
    assert main(["train", str(tmp_path / "none.toml")]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_commands_on_a_folder_that_is_no_run(tmp_path, capsys):
    for argv in (["resume", str(tmp_path)], ["generate", str(tmp_path / "x")], ["eval", str(tmp_path)]):
        assert main(argv) == 2
        assert "Traceback" not in capsys.readouterr().err


def test_a_second_train_into_the_same_folder_is_refused(tmp_path, capsys):
    cfg = write_config(tmp_path, SHAKESPEARE, train={"eval_interval": 1, "sample_interval": -1})
    assert main(["train", str(cfg), "--human"]) == 0
    assert main(["train", str(cfg), "--human"]) == 2
    said = capsys.readouterr().err.splitlines()[-1]  # resume would refuse a finished run: it is extended by steps
    assert "already holds a finished run: choose another train.out_dir, or train that one longer with" in said
    assert said.endswith(f"resume {tmp_path / 'run'} --max-steps N`")


def test_the_real_command_line_trains_and_generates(tmp_path):
    cfg = write_config(tmp_path, SHAKESPEARE, train={"max_steps": 6, "eval_interval": 3, "sample_interval": -1})
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    out = subprocess.run([sys.executable, "-m", "engine", "train", str(cfg)], capture_output=True, text=True,
                         env=env, timeout=900)
    assert out.returncode == 0, out.stderr
    types = [line.split('"type": "')[1].split('"')[0] for line in out.stdout.splitlines() if '"type"' in line]
    assert types[0] == "prepare" and types[-1] == "finished" and types.count("step") == 6
    gen = subprocess.run([sys.executable, "-m", "engine", "generate", str(tmp_path / "run"), "--prompt", "AB",
                          "--max-new-tokens", "5", "--seed", "1"], capture_output=True, text=True, env=env, timeout=900)
    assert gen.returncode == 0 and gen.stdout.startswith("AB") and len(gen.stdout.rstrip("\n")) == 7
    bad = subprocess.run([sys.executable, "-m", "engine", "generate", str(tmp_path / "run"), "--top-p", "2"],
                         capture_output=True, text=True, env=env, timeout=900)
    assert bad.returncode == 2 and bad.stderr.strip() == "error: --top-p must be in (0, 1]"


def test_dev_engine_reads_paths_from_the_callers_folder(tmp_path):
    from pathlib import Path

    from engine.config.schema import RunConfig

    root = Path(__file__).resolve().parents[2]
    (tmp_path / "runs" / "mine").mkdir(parents=True)
    cfg = RunConfig(name="mine")
    (tmp_path / "runs" / "mine" / "run.toml").write_text(cfg.to_toml())
    out = subprocess.run([str(root / "dev"), "engine", "runs", "runs"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0, out.stderr
    assert "mine" in out.stdout


def test_runs_lists_a_classifiers_accuracy_and_macro_f1(tmp_path, capsys):
    from engine.config.schema import RunConfig
    from engine.run.events import EventWriter

    run = tmp_path / "runs" / "clf"
    run.mkdir(parents=True)
    (run / "run.toml").write_text(RunConfig(name="clf").to_toml())
    w = EventWriter(run / "events.jsonl")
    w.emit("started", 0, config={"train": {"max_steps": 10}})
    w.emit("eval", 10, val_loss=0.4, val_accuracy=0.9125, val_macro_f1=0.8811)
    w.emit("finished", 10, reason="done")
    w.close()
    assert main(["runs", str(tmp_path / "runs")]) == 0
    line = capsys.readouterr().out.strip()
    assert "finished" in line and "accuracy 91.2%  macro-F1 0.881" in line


def test_a_relative_out_dir_is_made_beside_the_config_whoever_calls(tmp_path, monkeypatch):
    from pathlib import Path

    (tmp_path / "cfg").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "cfg" / "c.txt").write_text(Path(SHAKESPEARE).read_text()[:20000])
    (tmp_path / "cfg" / "x.toml").write_text(
        '[data]\npath = "c.txt"\n[tokenizer]\nkind = "char"\n[model]\nn_layer = 1\nn_head = 1\nn_embd = 16\n'
        'block_size = 8\n[train]\nbatch_size = 2\nmax_steps = 2\ndevice = "cpu"\nout_dir = "runs/x"\n')
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert main(["train", "../cfg/x.toml", "--human"]) == 0
    assert (tmp_path / "cfg" / "runs" / "x" / "run.toml").is_file()
    assert main(["train", "../cfg/x.toml", "--human", "--set", "train.out_dir=mine"]) == 0
    assert (tmp_path / "elsewhere" / "mine" / "run.toml").is_file()
