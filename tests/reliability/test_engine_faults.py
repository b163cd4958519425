"""Reliability of the engine: kills, locks, unhealthy losses, full disks, damaged checkpoints, bad input.
Each case asserts what the user is told and that nothing was lost."""

import json
import os
import random
import signal
import socket

import pytest
import torch

from engine.model import checkpoint as ckpt
from engine.run.events import EventWriter, parse_line, read_events
from engine.run.runinfo import summarize
from tests.conftest import PANGRAMS, SHAKESPEARE
from tests.reliability.helpers import engine, last_line, losses, start, wait_for, write_config


@pytest.fixture
def corpus(tiny_text):
    return tiny_text


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_kill9_at_random_steps_then_resume_equals_an_uninterrupted_run(tmp_path, corpus):
    whole = write_config(tmp_path, corpus, "whole", max_steps=80)
    assert engine("train", whole).returncode == 0
    run = tmp_path / "killed"
    cfg = write_config(tmp_path, corpus, "killed", max_steps=80)
    rng = random.Random(7)
    command, target = ("train", cfg), 0
    for _ in range(3):
        target += rng.randint(8, 20)  # the trainer holds at this step until killed: the kill never races it
        proc = start(*command, ENGINE_FAULT_HOLD_AT=target)
        wait_for(lambda: proc.poll() is not None or target in losses(run))
        assert proc.poll() is None, "the trainer ended before the step it was to be held at"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert summarize(run).status == "interrupted"
        ckpts = ckpt.list_checkpoints(run)
        assert ckpts and all((c.path / "model.safetensors").is_file() for c in ckpts)
        assert target - ckpts[-1].step < 10  # at most one checkpoint interval is lost
        command = ("resume", run)
    proc = start(*command)
    assert proc.wait(timeout=900) == 0
    assert summarize(run).status == "finished"
    assert losses(run) == losses(tmp_path / "whole")


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_a_stale_lock_is_recovered(tmp_path, corpus):
    cfg = write_config(tmp_path, corpus, max_steps=10)
    assert engine("train", cfg).returncode == 0
    (tmp_path / "run" / "lock").write_text(json.dumps({"pid": 999_999, "host": socket.gethostname(), "time": 0}))
    assert summarize(tmp_path / "run").status != "running"
    r = engine("resume", tmp_path / "run", "--max-steps", 20)
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "run" / "lock").exists()


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_two_processes_never_write_one_run(tmp_path, corpus):
    cfg = write_config(tmp_path, corpus, max_steps=10)
    assert engine("train", cfg).returncode == 0
    (tmp_path / "run" / "lock").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "time": 0}))
    r = engine("resume", tmp_path / "run", "--max-steps", 20)
    assert r.returncode == 2
    assert f"already being trained by process {os.getpid()}" in last_line(r.stderr)
    assert max(losses(tmp_path / "run")) == 10


def test_nan_losses_are_skipped_then_training_goes_on(tmp_path, corpus):
    cfg = write_config(tmp_path, corpus, max_steps=20, health_policy="skip")
    r = engine("train", cfg, ENGINE_FAULT_NAN_STEPS="5,6")
    assert r.returncode == 0, r.stderr
    events = read_events(tmp_path / "run" / "events.jsonl")
    warned = [e.step for e in events if e.type == "warning" and e["kind"] == "nan_loss"]
    assert warned == [5, 6]
    assert events[-1].type == "finished" and events[-1]["best_val_loss"] is not None


def test_nan_with_the_stop_policy_stops_and_keeps_the_checkpoint(tmp_path, corpus):
    cfg = write_config(tmp_path, corpus, max_steps=40, health_policy="stop")
    r = engine("train", cfg, ENGINE_FAULT_NAN_STEPS="15")
    assert r.returncode == 3
    assert "the loss became nan at step 15 (policy: stop)" in last_line(r.stderr)
    assert [c.step for c in ckpt.list_checkpoints(tmp_path / "run")] == [10]
    assert summarize(tmp_path / "run").status == "failed"


def test_persistent_nan_rolls_back_with_a_lower_learning_rate(tmp_path, corpus):
    cfg = write_config(tmp_path, corpus, max_steps=30, health_policy="rollback")
    r = engine("train", cfg, ENGINE_FAULT_NAN_STEPS="14")
    assert r.returncode == 0, r.stderr
    events = read_events(tmp_path / "run" / "events.jsonl")
    rollback = [e for e in events if e.type == "warning" and e["kind"] == "rollback"]
    assert len(rollback) == 1 and rollback[0]["to_step"] == 10 and rollback[0]["lr_scale"] == 0.5
    assert events[-1].type == "finished"


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_a_full_disk_while_checkpointing_keeps_the_previous_checkpoint(tmp_path, corpus):
    cfg = write_config(tmp_path, corpus, max_steps=40)
    r = engine("train", cfg, ENGINE_FAULT_DISK_FULL_AT="20")
    assert r.returncode == 3
    assert "could not write the checkpoint at step 20: No space left on device" in last_line(r.stderr)
    run = tmp_path / "run"
    assert [c.step for c in ckpt.list_checkpoints(run)] == [10]
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]
    assert read_events(run / "events.jsonl")[-1]["kind"] == "disk"
    assert engine("resume", run).returncode == 0  # and the run goes on from step 10 once there is space


def test_an_unwritable_run_folder_is_explained(tmp_path, corpus):
    (tmp_path / "file").write_text("not a folder")
    cfg = write_config(tmp_path, corpus, out_dir=str(tmp_path / "file" / "run"))
    r = engine("train", cfg)
    said = last_line(r.stderr)  # refused by the config check, before anything is written
    assert r.returncode == 2 and "train.out_dir" in said and "which is a file: name a folder" in said, said
    assert not (tmp_path / "file").is_dir()


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_a_truncated_newest_checkpoint_falls_back_to_the_one_before(tmp_path, corpus):
    cfg = write_config(tmp_path, corpus, max_steps=30)
    assert engine("train", cfg).returncode == 0
    run = tmp_path / "run"
    newest = run / "checkpoints" / "step-000030" / "model.safetensors"
    newest.write_bytes(newest.read_bytes()[:200])
    r = engine("resume", run, "--max-steps", 40)
    assert r.returncode == 0, r.stderr
    events = read_events(run / "events.jsonl")
    assert any(e.type == "warning" and "skipped step-000030" in e["message"] for e in events)
    started = [e for e in events if e.type == "started"][-1]
    assert started["resumed_from"] == "step-000020"


def test_a_tampered_meta_file_is_not_taken_as_a_checkpoint(tmp_path, corpus):
    cfg = write_config(tmp_path, corpus, max_steps=20)
    assert engine("train", cfg).returncode == 0
    (tmp_path / "run" / "checkpoints" / "step-000020" / "meta.json").write_text("{garbage")
    assert [c.step for c in ckpt.list_checkpoints(tmp_path / "run")] == [10]


def test_a_checkpoint_from_another_model_shape_is_refused(tmp_path, corpus):
    from engine.core.errors import UserError
    from engine.model.gpt import GPT, GPTConfig

    cfg = write_config(tmp_path, corpus, max_steps=10)
    assert engine("train", cfg).returncode == 0
    other = GPT(GPTConfig(vocab_size=40, block_size=16, n_layer=1, n_head=2, n_embd=48))
    with pytest.raises(UserError, match="different model shape"):
        ckpt.load_model_weights(other, tmp_path / "run" / "checkpoints" / "step-000010")


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_a_pickle_offered_as_a_checkpoint_is_never_unpickled(tmp_path, corpus, monkeypatch):
    import pickle

    cfg = write_config(tmp_path, corpus, max_steps=10)
    assert engine("train", cfg).returncode == 0
    path = tmp_path / "run" / "checkpoints" / "step-000010" / "model.safetensors"

    class Boom:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    path.write_bytes(pickle.dumps(Boom()))
    r = engine("generate", tmp_path / "run", "--prompt", "a")
    assert r.returncode == 2 and "is a pickle/zip file" in last_line(r.stderr)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("name, content, message", [
    ("empty.txt", b"", "is empty"),
    ("binary.txt", os.urandom(3000) + b"\x00", "looks binary"),
    ("latin1.txt", "déjà vu\n".encode("latin-1") * 40, "not valid utf-8"),
])
def test_bad_corpora_leave_no_run_folder(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    r = engine("train", write_config(tmp_path, tmp_path / name))
    assert r.returncode == 2 and message in last_line(r.stderr).lower() and "Traceback" not in r.stderr
    assert not (tmp_path / "run" / "run.toml").exists()


def test_a_csv_without_the_chosen_column(tmp_path):
    (tmp_path / "t.csv").write_text("title,body\nhi,there\n")
    r = engine("train", write_config(tmp_path, tmp_path / "t.csv"))
    assert r.returncode == 2 and "has no column 'text'; its columns are title, body" in last_line(r.stderr)


def test_invalid_toml_is_explained(tmp_path):
    (tmp_path / "c.toml").write_text("[train]\nlr = = 3\n")
    r = engine("train", tmp_path / "c.toml")
    assert r.returncode == 2 and "c.toml is not valid TOML" in last_line(r.stderr)


def test_out_of_memory_is_reported_with_a_smaller_micro_batch(tmp_path, corpus, monkeypatch, capsys):
    from engine.cli import main
    from engine.model import gpt

    def oom(*a, **k):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(gpt.GPT, "forward", oom)
    cfg = write_config(tmp_path, corpus, batch_size=8, grad_accum=2)
    assert main(["train", str(cfg), "--human"]) == 3
    assert "try train.batch_size = 4 with train.grad_accum = 4 (same global batch)" in capsys.readouterr().err


def test_a_torn_last_line_is_skipped_and_sealed(tmp_path):
    path = tmp_path / "events.jsonl"
    w = EventWriter(path)
    w.emit("step", 1, loss=2.0)
    w.close()
    with open(path, "ab") as f:
        f.write(b'{"v": 1, "type": "step", "st')  # the trainer died mid-write
    assert [e.step for e in read_events(path)] == [1]
    w = EventWriter(path)
    w.emit("step", 2, loss=1.5)
    w.close()
    assert [e.step for e in read_events(path)] == [1, 2]


def test_unknown_event_types_and_newer_versions_are_skipped():
    assert parse_line('{"v": 1, "type": "hologram", "time": 1}') is None
    assert parse_line('{"v": 2, "type": "step", "time": 1, "step": 3, "loss": 1.0, "new_field": 7}').step == 3
    assert parse_line("Traceback (most recent call last):") is None


def test_nothing_reaches_the_network(tmp_path, monkeypatch):
    """Train and generate in-process with every outgoing connection refused."""
    def refuse(self, address):
        raise AssertionError(f"network access to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    from engine.cli import main

    cfg = write_config(tmp_path, SHAKESPEARE, max_steps=5)
    assert main(["train", str(cfg), "--human"]) == 0
    assert main(["generate", str(tmp_path / "run"), "--max-new-tokens", "5"]) == 0


def test_a_large_corpus_streams_through_encoding_with_progress(tmp_path):
    """40 MB of text: encoded in batches straight to the token file, with progress and an ETA."""
    import resource

    line = "All the world's a stage, and all the men and women merely players.\n"
    with open(tmp_path / "big.txt", "w") as f:
        for i in range(40_000):
            f.write(line * 15 + "\n")
    size = (tmp_path / "big.txt").stat().st_size
    r = engine("prepare", write_config(tmp_path, tmp_path / "big.txt"), timeout=600, ENGINE_PROGRESS_INTERVAL=0)
    assert r.returncode == 0, r.stderr
    tokens = int(r.stdout.split("tokens ")[1].split()[0].replace(",", ""))
    assert size - 2 <= tokens <= size  # one token a character; the file's final blank line is not a paragraph
    assert "documents, " in r.stderr and "ETA" in r.stderr  # progress lines while encoding
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert peak_mb < 2000, f"peak memory {peak_mb:.0f} MB"


@pytest.mark.parametrize("name, content, message", [
    ("b.jsonl", '{"text": "ok"}\n{"text": "broken\n', "b.jsonl line 2 is not valid JSON (Invalid control character"),
    ("b.jsonl", '{"text": "ok"}\n[1, 2]\n', "b.jsonl line 2 is a JSON list, not an object with named fields"),
    ("b.csv", "text,label\nfine,1\nnot, quoted,2\n", "b.csv row 3 has 3 fields but the header names 2 (text, label)"),
])
def test_a_broken_table_file_is_named_with_its_line(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    r = engine("prepare", write_config(tmp_path, tmp_path / name))
    assert r.returncode == 2 and message in last_line(r.stderr), r.stderr
    assert "Traceback" not in r.stderr and "Failed to" not in r.stderr  # no library log line


def test_a_folder_of_text_and_tables_loads_each_by_its_kind(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    long = " ".join(PANGRAMS)
    (folder / "a.md").write_text(f"# Title\n\n{long}\n")
    (folder / "b.csv").write_text(f"text,label\n{long},1\nanother row,2\n")
    (folder / "c.jsonl").write_text(f'{{"text": "{long}"}}\n{{"text": "json two"}}\n')
    (folder / "d.csv").write_text("text\n123\n456\n")  # a column datasets reads as numbers
    r = engine("prepare", write_config(tmp_path, folder))
    assert r.returncode == 0, r.stderr
    assert "documents 8\n" in r.stdout  # 2 paragraphs + 2 rows + 2 lines + 2 rows


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_extending_a_finished_run_trains_on_at_the_final_rate(tmp_path, corpus):
    from engine.config.schema import load

    cfg = write_config(tmp_path, corpus, max_steps=10, min_lr=3e-4, log_interval=1)
    assert engine("train", cfg).returncode == 0
    r = engine("resume", tmp_path / "run", "--max-steps", 16)
    assert r.returncode == 0, r.stderr
    assert "extending to 16 steps at the final learning rate 0.0003" in r.stderr
    lrs = {e.step: e["lr"] for e in read_events(tmp_path / "run" / "events.jsonl") if e.type == "step"}
    assert lrs[9] > lrs[10] > 3e-4 and all(lrs[s] == pytest.approx(3e-4) for s in range(11, 17))  # no jump up
    saved = load(tmp_path / "run" / "run.toml").train
    assert (saved.max_steps, saved.decay_steps) == (16, 10)  # a second extension keeps the same decay
