"""The queue and the run folders as a new user meets them: a workspace named relative to where they stand,
a run that fails to start, a paused queue, a workspace that is not there, a run folder where a folder of
runs belongs, folders of the config that are files; and hints that name the engine the way it was called."""

import json

import pytest

from engine.core.text import engine_command
from tests.conftest import pangram_text
from tests.reliability.helpers import digest, engine_here, last_line, refused, write_config


@pytest.fixture
def here(tmp_path, monkeypatch):
    """The user's folder (the current one), with a corpus and a tiny config `c.toml` of a few steps."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENGINE_COMMAND", raising=False)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(pangram_text(40))
    write_config(tmp_path, corpus, name="c", max_steps=4, eval_interval=2)
    return tmp_path


def test_a_relative_workspace_queues_absolute_paths_and_its_run_finishes(here):
    r = engine_here("queue", "add", "c.toml", "--workspace", "wsR")
    assert r.returncode == 0, r.stderr
    item, = json.loads((here / "wsR" / "queue.json").read_text())["items"]
    assert item["config"] == str(here / "wsR" / "queue" / f"{item['id']}.toml")
    assert item["run_dir"].startswith(str(here / "wsR" / "runs" / "c-"))
    assert item["name"] == "c"  # the config file's stem, not "run"
    r = engine_here("queue", "run", "--workspace", "wsR")  # the trainer runs from the project's folder
    assert r.returncode == 0, r.stderr
    assert f"{item['name']}: finished" in r.stdout
    assert json.loads((here / "wsR" / "queue.json").read_text())["items"] == []


def test_a_run_that_fails_to_start_makes_queue_run_fail(here):
    assert engine_here("queue", "add", "c.toml", "--workspace", "ws").returncode == 0
    (here / "corpus.txt").unlink()  # the trainer will refuse the run
    r = engine_here("queue", "run", "--workspace", "ws")
    assert r.returncode == 1, r.stderr
    assert "c: failed" in r.stdout
    assert "1 of them failed: c" in last_line(r.stderr)


def test_queue_run_on_a_paused_queue_says_how_to_resume_it(here, monkeypatch):
    monkeypatch.setenv("ENGINE_COMMAND", "./dev engine")
    assert ok("queue", "add", "c.toml", "--workspace", "ws")
    assert ok("queue", "pause", "--workspace", "ws")
    r = engine_here("queue", "run", "--workspace", "ws")
    assert r.returncode == 0
    assert f"`./dev engine queue resume --workspace {here / 'ws'}`" in r.stderr
    assert len(json.loads((here / "ws" / "queue.json").read_text())["items"]) == 1  # nothing started


def ok(*args) -> bool:
    r = engine_here(*args)
    assert r.returncode == 0, r.stderr
    return True


def test_hints_name_the_engine_as_it_was_called(here, monkeypatch):
    assert engine_command() == "python -m engine"
    monkeypatch.setenv("ENGINE_COMMAND", "../dev engine")
    assert engine_command() == "../dev engine"
    r = engine_here("queue", "add", "--workspace", "ws")
    assert "../dev engine queue add run.toml" in last_line(r.stderr)
    (here / "c").mkdir()
    (here / "c" / "run.toml").write_text("")
    refused("train", "c", expect="continue it with `../dev engine resume c`")


def test_queue_list_of_a_missing_workspace_is_refused(here):
    refused("queue", "list", "--workspace", "nowhere", expect="nowhere does not exist")
    assert not (here / "nowhere").exists()


def test_runs_on_a_run_folder_lists_that_run(here):
    assert engine_here("train", "c.toml", "--human").returncode == 0
    r = engine_here("runs", "c")
    assert r.returncode == 0, r.stderr
    assert "is a run folder" in r.stdout and "finished" in r.stdout and "step 4/4" in r.stdout


@pytest.mark.parametrize("key", ["data.cache_dir", "train.out_dir"])
def test_a_folder_of_the_config_that_is_a_file_is_refused(here, key):
    (here / "a-file").write_text("not a folder")
    before = digest(here)
    refused("train", "c.toml", "--set", f"{key}={here / 'a-file'}", expect=f"{key} {here / 'a-file'} is a file: "
            "name a folder")
    refused("train", "c.toml", "--set", f"{key}={here / 'a-file' / 'x'}", expect="which is a file: name a folder")
    assert digest(here) == before


def test_a_sweep_into_a_relative_workspace_stores_absolute_paths_and_says_how_to_run_it(here):
    (here / "lr.toml").write_text('base = "c.toml"\nmethod = "grid"\n[fields]\n"train.lr" = [1e-3, 3e-3]\n')
    r = engine_here("sweep", "lr.toml", "--queue-only", "--workspace", "ws")
    assert r.returncode == 0, r.stderr
    items = json.loads((here / "ws" / "queue.json").read_text())["items"]
    assert len(items) == 2 and all(i["config"].startswith(str(here / "ws" / "queue") + "/") for i in items)
    assert f"`python -m engine queue run --workspace {here / 'ws'}`" in r.stdout
