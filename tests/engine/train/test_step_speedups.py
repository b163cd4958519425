"""The step's speed-ups change no numbers: clipping folded into fused AdamW, and tcmalloc preloaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from engine.launch import allocator
from engine.model.gpt import GPT, GPTConfig
from engine.train.clipping import GradClipper
from tests.conftest import SHAKESPEARE
from tests.helpers import write_config


def _train(max_norm: float, *, fold: bool, fused: bool = True, steps: int = 6):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=20, block_size=8, n_layer=2, n_head=2, n_embd=16))
    opt = torch.optim.AdamW(model.param_groups(0.1), lr=1e-2, fused=fused)
    clip = GradClipper(model, opt, max_norm, fold=fold)
    gen = torch.Generator().manual_seed(1)
    norms = []
    for _ in range(steps):
        x = torch.randint(0, 20, (4, 9), generator=gen)
        _, loss = model(x[:, :-1], x[:, 1:])
        loss.backward()
        norms.append(float(clip()))
        opt.step()
        opt.zero_grad(set_to_none=True)
    return torch.cat([p.detach().flatten() for p in model.parameters()]), norms, clip


@pytest.mark.parametrize("max_norm", [0.05, 1e6], ids=["clipping", "not clipping"])
def test_folded_clipping_updates_like_clip_grad_norm(max_norm):
    folded, folded_norms, clip = _train(max_norm, fold=True)
    plain, plain_norms, _ = _train(max_norm, fold=False)
    assert clip.fold
    assert folded_norms == pytest.approx(plain_norms, rel=1e-5)
    if max_norm < 1:
        assert min(plain_norms) > max_norm  # the clipping case really clipped every step
    torch.testing.assert_close(folded, plain, rtol=1e-5, atol=1e-6)


def test_other_optimizers_clip_in_their_own_pass():
    _, _, clip = _train(0.05, fold=True, fused=False, steps=1)
    assert not clip.fold  # foreach AdamW takes no grad_scale
    model = GPT(GPTConfig(vocab_size=20, block_size=8, n_layer=1, n_head=2, n_embd=16))
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    clip = GradClipper(model, sgd, 0.05, fold=True)
    x = torch.randint(0, 20, (4, 9))
    model(x[:, :-1], x[:, 1:])[1].backward()
    before = float(clip())
    after = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()]))
    assert before > 0.05 and float(after) == pytest.approx(0.05, rel=1e-4)


def test_training_env_preloads_an_installed_allocator(monkeypatch):
    monkeypatch.setattr(allocator, "find", lambda: "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4")
    env = allocator.training_env({"LD_PRELOAD": "/opt/other.so"})
    assert env["LD_PRELOAD"].split(":") == ["/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4", "/opt/other.so"]
    assert allocator.training_env(env)["LD_PRELOAD"] == env["LD_PRELOAD"]  # never twice
    assert "LD_PRELOAD" not in allocator.training_env({"ENGINE_ALLOCATOR": "system"})
    monkeypatch.setattr(allocator, "find", lambda: None)
    assert "LD_PRELOAD" not in allocator.training_env({})  # a machine without one trains with glibc's


def test_the_tbb_wheels_allocator_is_found_where_no_system_one_is(monkeypatch, tmp_path):
    monkeypatch.setattr(allocator, "cpu_vendor", lambda: "GenuineIntel")
    monkeypatch.setattr(allocator, "SEARCH", (str(tmp_path / "none"),))
    monkeypatch.setattr(allocator.sys, "prefix", str(tmp_path))
    assert allocator.find() is None
    (tmp_path / "lib").mkdir()
    for name in allocator.TBB:
        (tmp_path / "lib" / name).touch()
    lib = tmp_path / "lib"
    assert allocator.find().split(":") == [str(lib / "libtbbmalloc.so.2"), str(lib / "libtbbmalloc_proxy.so.2")]
    env = allocator.training_env({})
    assert allocator.preloaded(env) and allocator.training_env(env) == env
    monkeypatch.setattr(allocator, "cpu_vendor", lambda: "AuthenticAMD")  # slower than glibc's there
    assert allocator.find() is None and "LD_PRELOAD" not in allocator.training_env({})


def test_amd_cpus_keep_glibcs_malloc_even_with_a_system_one_installed(monkeypatch, tmp_path):
    (tmp_path / "libjemalloc.so.2").touch()
    monkeypatch.setattr(allocator, "SEARCH", (str(tmp_path),))
    monkeypatch.setattr(allocator, "cpu_vendor", lambda: "GenuineIntel")
    assert allocator.find() == str(tmp_path / "libjemalloc.so.2")
    monkeypatch.setattr(allocator, "cpu_vendor", lambda: "AuthenticAMD")  # each was slower than glibc's there
    assert allocator.find() is None and "LD_PRELOAD" not in allocator.training_env({})
    hand = allocator.training_env({"LD_PRELOAD": str(tmp_path / "libjemalloc.so.2")})
    assert hand["LD_PRELOAD"] == str(tmp_path / "libjemalloc.so.2")  # one set by hand stays


def test_the_cpu_vendor_is_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n")
    assert allocator.cpu_vendor(str(info)) == "AuthenticAMD"
    assert allocator.cpu_vendor(str(tmp_path / "none")) == ""


def test_only_training_commands_restart(monkeypatch):
    calls = []
    monkeypatch.setattr(allocator.os, "execve", lambda *a: calls.append(a))
    monkeypatch.setattr(allocator, "find", lambda: "/usr/lib/libtcmalloc_minimal.so.4")
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    monkeypatch.delenv(allocator.TRIED, raising=False)
    monkeypatch.delenv("ENGINE_ALLOCATOR", raising=False)
    allocator.restart_with_allocator(["generate", "runs/x", "--prompt", "hi"])
    assert calls == []
    allocator.restart_with_allocator(["train", "run.toml", "--set", "train.max_steps=3"])
    (exe, argv, env), = calls
    assert argv[1:] == ["-m", "engine", "train", "run.toml", "--set", "train.max_steps=3"]
    assert env[allocator.TRIED] == "1" and "libtcmalloc_minimal" in env["LD_PRELOAD"]
    assert float(env[allocator.STARTED]) > 0  # stop requests sent before the restart still count
    monkeypatch.setenv(allocator.TRIED, "1")
    allocator.restart_with_allocator(["train", "run.toml"])
    assert len(calls) == 1


@pytest.mark.skipif(allocator.find() is None, reason="no tcmalloc/jemalloc/tbbmalloc on this machine, or an AMD CPU")
def test_cli_training_runs_with_the_allocator(tmp_path):
    cfg = write_config(tmp_path, SHAKESPEARE, train={"max_steps": 3})
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", allocator.TRIED)}
    out = subprocess.run([sys.executable, "-m", "engine", "train", str(cfg), "--events"], capture_output=True,
                         text=True, env=env, timeout=900)
    assert out.returncode == 0, out.stderr
    started = next(json.loads(line) for line in out.stdout.splitlines() if '"started"' in line)
    assert started["allocator"] in allocator.NAMES
    assert "large alloc" not in out.stderr


def test_cpu_compile_needs_a_compiler(monkeypatch):
    from engine.runtime import device

    monkeypatch.setattr(device, "cxx_compiler", lambda: None)
    assert not device.should_compile("auto", torch.device("cpu"), 800_000, 10**6, 4.0e9, 300e9)


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_a_failing_compile_falls_back_to_eager_with_a_warning(tmp_path):
    cfg = write_config(tmp_path, SHAKESPEARE, train={"max_steps": 3, "compile": "on"})
    env = dict(os.environ, CXX="/bin/false", TORCHINDUCTOR_CACHE_DIR=str(tmp_path / "inductor"))
    out = subprocess.run([sys.executable, "-m", "engine", "train", str(cfg), "--events"], capture_output=True,
                         text=True, env=env, timeout=900)
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    warning = next(e for e in events if e["type"] == "warning" and e["kind"] != "config")
    assert warning["kind"] == "compile_failed" and "C++ compiler" in warning["message"]
    assert events[-1]["type"] == "finished" and events[-1]["step"] == 3
    assert "Traceback" not in out.stderr
