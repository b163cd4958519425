from pathlib import Path

import pytest

from engine.config import schema as config_mod
from engine.core.errors import ConfigError, UserError
from engine.plan.preflight import check


def test_round_trip_through_toml(tmp_path):
    cfg = config_mod.RunConfig()
    cfg.data.path, cfg.train.out_dir = str(tmp_path / "c.txt"), str(tmp_path / "run")
    cfg.model.n_layer = 6
    cfg.train.sample_prompts = ["ROMEO:", "\n"]
    path = tmp_path / "run.toml"
    path.write_text(cfg.to_toml())
    back = config_mod.load(path)
    assert back.to_dict() == cfg.to_dict()


def test_relative_data_path_is_read_from_the_config_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "run.toml"
    path.write_text('[data]\npath = "corpus.txt"\n')
    assert config_mod.load(path).data.path == str(tmp_path / "sub" / "corpus.txt")


def test_paths_in_the_file_are_the_files_and_paths_on_the_command_line_the_callers(tmp_path, monkeypatch):
    (tmp_path / "cfg").mkdir()
    (tmp_path / "here").mkdir()
    path = tmp_path / "cfg" / "x.toml"
    path.write_text('[data]\npath = "corpus.txt"\ncache_dir = "cache"\n[train]\nout_dir = "runs/x"\n')
    monkeypatch.chdir(tmp_path / "here")
    cfg = config_mod.load(path)
    assert cfg.train.out_dir == str(tmp_path / "cfg" / "runs" / "x")  # like data.path, whoever calls
    assert cfg.data.cache_dir == str(tmp_path / "cfg" / "cache")
    given = config_mod.load(path, ["train.out_dir=mine", "data.path=../text.txt", "finetune.source=~/base"])
    assert given.train.out_dir == str(tmp_path / "here" / "mine")
    assert given.data.path == str(tmp_path / "text.txt")
    assert given.finetune.source == str(Path.home() / "base")
    assert config_mod.load(path, ["train.max_steps=7"]).train.max_steps == 7


def test_validation_lists_every_problem():
    cfg = config_mod.RunConfig()
    cfg.data.path = "x.txt"
    cfg.model.n_head, cfg.model.n_embd = 3, 16
    cfg.train.lr = -0.1
    cfg.train.optimizer = "adamx"
    with pytest.raises(ConfigError) as e:
        check(cfg)
    text = " ".join(e.value.problems)
    assert len(e.value.problems) == 3
    assert "n_head (3) must divide model.n_embd (16)" in text
    assert "train.lr must be positive" in text
    assert "'adamx' is not one of adamw, adam, sgd, adagrad, lamb, adafactor, muon (did you mean 'adam'?)" in text


def test_prenorm_is_refused_where_it_means_nothing():
    cfg = config_mod.RunConfig()
    cfg.data.path, cfg.model.prenorm = "x.txt", True
    with pytest.raises(ConfigError, match='model.prenorm is for encoders .*already pre-norm'):
        check(cfg)
    cfg.model.objective = "span"
    check(cfg)  # an encoder takes it


def test_unknown_key_and_wrong_type_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key train\.lrr \(did you mean 'lr'\?\)"):
        config_mod.from_dict({"train": {"lrr": 1.0}})
    with pytest.raises(ConfigError, match=r"model\.n_layer must be a whole number"):
        config_mod.from_dict({"model": {"n_layer": "four"}})


def test_overrides_parse_values_as_toml():
    data = {}
    config_mod.apply_overrides(data, ["train.lr=3e-4", 'model.position="rope"', "train.compile=true",
                                      "data.path=/tmp/x.txt"])
    assert data == {"train": {"lr": 3e-4, "compile": True}, "model": {"position": "rope"},
                    "data": {"path": "/tmp/x.txt"}}
    with pytest.raises(UserError, match="section.key=value"):
        config_mod.apply_overrides({}, ["lr=1"])


def test_invalid_toml_names_the_file(tmp_path):
    p = Path(tmp_path / "bad.toml")
    p.write_text("[data\npath = ")
    with pytest.raises(UserError, match="bad.toml is not valid TOML"):
        config_mod.load(p)


def test_compile_is_automatic_and_old_true_false_values_still_load():
    import torch

    from engine.runtime import device
    from engine.runtime.device import should_compile

    assert config_mod.from_dict({"train": {"compile": True}}).train.compile == "on"
    assert config_mod.from_dict({"train": {"compile": False}}).train.compile == "off"
    assert config_mod.RunConfig().train.compile == "auto"
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert should_compile("auto", cuda, 85_000_000, 5000)
    assert not should_compile("auto", cuda, 1_000_000, 5000), "a small model compiles longer than it trains"
    assert not should_compile("auto", cuda, 85_000_000, 100)
    assert not should_compile("auto", cpu, 85_000_000, 5000), "no FLOP figures: no estimate, no compile"
    baby_step, peak = 4.0e9, 300e9  # nanoGPT's baby recipe: ~30 ms a step eager, a minute in all
    assert not should_compile("auto", cpu, 800_000, 2000, baby_step, peak)
    assert should_compile("auto", cpu, 800_000, 50_000, baby_step, peak) == bool(device.cxx_compiler())
    assert should_compile("on", cpu, 1000, 10) and not should_compile("off", cuda, 85_000_000, 5000)
