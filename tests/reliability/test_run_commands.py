"""Run-level commands given bad input: each answers with one line and exit status 2, never a traceback,
and leaves the run folder exactly as it was."""

import shutil
from pathlib import Path

import pytest

from tests.conftest import PANGRAMS
from tests.reliability.helpers import digest, engine, refused, trained_run, write_config


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One finished tiny run (checkpoints at steps 10 and 20), shared by the cases; they must not change it."""
    tmp = tmp_path_factory.mktemp("runs")
    trained_run(tmp)
    (tmp / "a-file").write_text("not a folder")
    (tmp / "taken.gguf").write_text("someone's file")
    return tmp / "run"




CASES = {  # name: (arguments after the run folder, words the one-line answer holds)
    "a CUDA device on a machine without one": (["generate", "{run}", "--device", "cuda:7"], "no CUDA GPU"),
    "a device that does not exist": (["generate", "{run}", "--device", "tpu9"], "is not a device"),
    "export onto an existing file": (["export", "{run}", "--out", "{tmp}/a-file"], "is a file"),
    "export under a file": (["export", "{run}", "--out", "{tmp}/a-file/model"], "cannot create the export folder"),
    "GGUF under a name without .gguf": (["export", "{run}", "--out", "{tmp}/m.bin", "--format", "gguf"],
                                        "a GGUF file's name ends in .gguf"),
    "GGUF onto an existing file": (["export", "{run}", "--out", "{tmp}/taken.gguf"], "exists: choose a new file name"),
    "GGUF in a missing folder": (["export", "{run}", "--out", "{tmp}/nowhere/m.gguf"], "nowhere does not exist"),
    "eval over no batches": (["eval", "{run}", "--batches", "0"], "--batches must be at least 1"),
    "attention into a missing folder": (["attention", "{run}", "--text", "hi", "--out", "{tmp}/no/such/maps.npy"],
                                        "does not exist"),
    "attention onto a folder": (["attention", "{run}", "--text", "hi", "--out", "{tmp}/run.npy"],
                                "that is a folder"),
    "a temperature that is not a number": (["generate", "{run}", "--temperature", "nan"], "--temperature"),
    "an infinite repetition penalty": (["generate", "{run}", "--repetition-penalty", "inf"],
                                       "--repetition-penalty"),
    "more beams than tokens": (["generate", "{run}", "--beams", "5000"], "more than the vocabulary"),
    "an empty stop string": (["generate", "{run}", "--stop", ""], "--stop must not be empty"),
    "predict with no text": (["predict", "{run}", "--text", "  "], "--text is empty"),
    "runs of a folder that is not there": (["runs", "{tmp}/nowhere"], "folder not found"),
    "runs of a file": (["runs", "{tmp}/a-file"], "is not a folder"),
    "resume to a step already passed": (["resume", "{run}", "--max-steps", "5"], "is not beyond step 20"),
    "resume of a finished run": (["resume", "{run}"], "has finished its 20 steps: there is nothing to resume"),
    "a checkpoint path outside the run": (["generate", "{run}", "--checkpoint", "../../../../etc"],
                                          "is not a checkpoint"),
    "a checkpoint that does not exist": (["generate", "{run}", "--checkpoint", "step-999999"],
                                         "no checkpoint 'step-999999'"),
    "control of a finished run": (["control", "{run}", "stop"], "is not running"),
    "a top-p of zero": (["generate", "{run}", "--top-p", "0"], "--top-p must be in (0, 1]"),
}


@pytest.mark.parametrize("name", CASES)
def test_bad_arguments_to_a_run_command(trained, name):
    args, expect = CASES[name]
    before = digest(trained)
    if name == "attention onto a folder":
        (trained.parent / "run.npy").mkdir(exist_ok=True)
    # the CUDA case in a real process that sees no GPU, even on a machine with one
    env = {"CUDA_VISIBLE_DEVICES": ""} if any("cuda" in a for a in args) else {}
    refused(*[a.format(run=trained, tmp=trained.parent) for a in args], expect=expect, **env)
    assert digest(trained) == before


@pytest.mark.parametrize("setting, expect", [
    ("train.batch_size=1000000000", "try train.batch_size = "),
    ("model.n_embd=1048576", "even one sequence at a time does not fit"),
])
def test_a_run_too_big_for_memory_is_refused_before_it_starts(trained, tmp_path, setting, expect):
    (tmp_path / "c.txt").write_text("\n\n".join(PANGRAMS * 20))
    message = refused("train", write_config(tmp_path, tmp_path / "c.txt"), "--set", setting, "--set",
                      "model.n_head=1", expect=expect)
    assert "of memory by the estimate, but this machine has" in message
    assert not (tmp_path / "run").exists()  # nothing allocated, no run folder


@pytest.fixture
def copy(trained, tmp_path):
    shutil.copytree(trained, tmp_path / "run")
    return tmp_path / "run"


def test_a_damaged_meta_file_is_named_and_its_weights_are_not_used(copy):
    (copy / "checkpoints" / "step-000020" / "meta.json").write_text("{not json")
    r = engine("generate", copy, "--max-new-tokens", "3")
    assert r.returncode == 0 and "Traceback" not in r.stderr
    assert "checkpoint step-000020 is damaged" in r.stderr and "using step-000010, the best intact one" in r.stderr
    assert "using checkpoint step-000010" in r.stderr
    refused("generate", copy, "--checkpoint", "step-000020", expect="step-000020/meta.json is corrupt (not JSON)")


def test_a_damaged_tokenizer_is_named(copy):
    for p in copy.rglob("tokenizer.json"):
        p.write_text("{broken")
    refused("generate", copy, expect="is not a valid tokenizer.json")


def test_a_damaged_run_config_is_named(copy):
    (copy / "run.toml").write_text("[train\nmax_steps = ")
    refused("eval", copy, expect="run.toml is not valid TOML")
    refused("resume", copy, expect="run.toml is not valid TOML")


def test_odd_set_values_are_refused(trained, tmp_path):
    cfg = write_config(tmp_path, tmp_path / "x.txt")
    refused("train", cfg, "--set", "train.lr", expect="--set expects section.key=value")
    refused("train", cfg, "--set", "train.lr=", expect="train.lr must be a number")
    refused("train", cfg, "--set", "nosection=3", expect="--set expects section.key=value")
    assert not (tmp_path / "run").exists()


def make_best(run: Path, name: str) -> None:
    """Give an earlier checkpoint the lowest validation loss, as a run that overfits later has."""
    import json

    meta_path = run / "checkpoints" / name / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["val_loss"] = 0.5
    meta_path.write_text(json.dumps(meta))


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_run_commands_use_the_best_checkpoint_and_say_which(copy, tmp_path):
    make_best(copy, "step-000010")
    r = engine("generate", copy, "--max-new-tokens", "3")
    assert r.returncode == 0 and "using checkpoint step-000010 (the best by validation loss" in r.stderr
    r = engine("generate", copy, "--max-new-tokens", "3", "--checkpoint", "latest")
    assert r.returncode == 0 and "using checkpoint step-000020 (the newest)" in r.stderr
    r = engine("export", copy, "--out", tmp_path / "hf")
    assert r.returncode == 0 and "wrote step-000010" in r.stdout


def test_a_fine_tune_longer_than_its_sources_context_is_refused(trained, tmp_path):
    cfg = write_config(tmp_path, trained.parent / "corpus.txt", max_steps=5)
    text = cfg.read_text().replace("block_size = 16", "block_size = 64")
    cfg.write_text(text + f'\n[finetune]\nsource = "{trained}"\nmethod = "lora"\n')
    message = refused("train", cfg, expect="its context is 16 tokens, so model.block_size = 64 cannot be trained")
    assert message.startswith("error: finetune.source: ")
    assert not (tmp_path / "run").exists()


def test_several_config_problems_are_listed_once_with_a_fix_either_way(tmp_path):
    cfg = write_config(tmp_path, tmp_path / "x.txt", lr=-1.0, batch_size=0)
    r = engine("train", cfg, "--set", "model.n_head=3")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    listed = [ln for ln in lines if ln.startswith("  - ")]
    assert len(listed) >= 3 and lines[-1] == f"error: {len(listed)} problems, listed above"
    assert "  - model.n_head (3) must divide model.n_embd (32): try n_head = 4 or n_embd = 33" in lines
    for problem in listed:
        assert r.stderr.count(problem[4:]) == 1


def test_settings_that_rarely_mean_what_they_say_are_warned_at_the_start(tmp_path):
    from engine.run.events import read_events

    (tmp_path / "c.txt").write_text("\n\n".join(" ".join(PANGRAMS) for _ in range(30)))
    cfg = write_config(tmp_path, tmp_path / "c.txt", max_steps=6, warmup_steps=10, eval_interval=50)
    text = cfg.read_text().replace('kind = "char"', 'kind = "bpe"\nvocab_size = 5000')
    cfg.write_text(text)
    r = engine("train", cfg, "--human")
    assert r.returncode == 0, r.stderr
    said = [e["message"] for e in read_events(tmp_path / "run" / "events.jsonl")
            if e.type == "warning" and e["kind"] == "config"]
    assert len(said) == 3
    assert "train.warmup_steps (10) is not shorter than the run (6 steps)" in said[0]
    assert "train.eval_interval (50) is beyond the last step (6)" in said[1]
    assert "tokenizer.vocab_size asked for 5,000 tokens but the corpus gave" in said[2]
    assert all(f"warning (config): {m}" in r.stderr for m in said)


def test_a_context_whose_attention_dominates_the_cost_is_warned_with_the_estimate(tmp_path):
    from engine.run.events import read_events

    (tmp_path / "c.txt").write_text("\n\n".join(" ".join(PANGRAMS) for _ in range(30)))
    cfg = write_config(tmp_path, tmp_path / "c.txt", max_steps=3, eval_interval=3)
    r = engine("train", cfg, "--human", "--set", "model.block_size=512", "--set", "train.batch_size=1")
    assert r.returncode == 0, r.stderr
    said = [e["message"] for e in read_events(tmp_path / "run" / "events.jsonl") if e.type == "warning"]
    assert len(said) == 1, said
    assert said[0].startswith("model.block_size = 512 makes attention ") and "by the estimate the run takes" in said[0]
    share = int(said[0].split("makes attention ")[1].split("%")[0])
    assert 50 < share < 100
