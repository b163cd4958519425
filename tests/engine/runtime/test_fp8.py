"""train.precision = "fp8": the blocks' linear layers in fp8 through torchao (emulated on this CPU)."""

import importlib.util

import pytest
import torch

from engine.core.errors import UserError
from engine.model.build import build_model
from engine.model.gpt import GPTConfig
from engine.model.load import load_for_inference
from engine.plan.preflight import problems as validate
from engine.run.events import read_events
from engine.runtime import fp8
from engine.runtime.device import resolve_precision
from tests.conftest import tiny_config
from tests.helpers import step_losses, train

# torchao comes with the fp8 extra, which ./dev installs beside an NVIDIA GPU only (./dev install fp8 elsewhere)
needs_torchao = pytest.mark.skipif(importlib.util.find_spec("torchao") is None,
                                   reason="torchao is not installed (./dev install fp8)")


def fp8_layers(model) -> int:
    return sum(type(m).__name__ == "Float8Linear" for m in model.modules())


@needs_torchao
def test_blocks_convert_and_heads_stay():
    model = build_model(GPTConfig(vocab_size=97, block_size=16, n_layer=2, n_head=2, n_embd=32))
    before = set(model.state_dict())
    fp8.apply(model, "fp8")
    assert fp8_layers(model) == 2 * 4  # qkv, attention out, MLP in and out, in each block
    assert type(model.lm_head) is torch.nn.Linear
    assert set(model.state_dict()) == before  # a checkpoint is a bf16 run's
    unchanged = build_model(GPTConfig(vocab_size=97, block_size=16, n_layer=1, n_head=2, n_embd=24))
    assert fp8_layers(fp8.apply(unchanged, "fp8")) == 0  # 24 is not a multiple of 16: the fp8 kernels refuse it
    assert fp8_layers(fp8.apply(build_model(GPTConfig(n_embd=32, n_head=2)), "bf16")) == 0


@needs_torchao
@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_a_run_trains_in_fp8_and_its_checkpoint_generates_in_full_precision(tmp_path, tiny_text):
    cfg = tiny_config(tiny_text, tmp_path, train={"precision": "fp8", "max_steps": 40, "eval_interval": 20})
    trainer = train(cfg)
    run = tmp_path / "run"
    events = list(read_events(run / "events.jsonl"))
    assert next(e for e in events if e.type == "started")["precision"] == "fp8"
    assert any(e.type == "warning" and "emulated" in e["message"] for e in events)
    assert fp8_layers(trainer.model) == 4
    evals = [e["val_loss"] for e in events if e.type == "eval"]
    assert evals[-1] < evals[0] - 0.5
    losses = step_losses(run)
    assert all(v == v for v in losses.values())  # no NaN
    model, tok, _ = load_for_inference(run)
    assert fp8_layers(model) == 0
    with torch.no_grad():
        logits, _ = model(torch.tensor([tok.encode("The quick")]))
    assert torch.isfinite(logits).all()


def test_fp8_is_refused_in_words_where_it_cannot_run(monkeypatch, tmp_path, tiny_text):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 0))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA A100-SXM4-80GB")
    with pytest.raises(UserError, match="A100-SXM4-80GB has none: use \"bf16\""):
        resolve_precision("fp8", torch.device("cuda", 0))
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))
    assert resolve_precision("fp8", torch.device("cuda", 0)) == "fp8"
    assert resolve_precision("fp8", torch.device("cpu")) == "fp8"  # emulated, with a warning at start
    with pytest.raises(UserError, match="not mps"):
        resolve_precision("fp8", torch.device("mps"))
    with pytest.raises(UserError, match="fp16.*needs a CUDA GPU"):
        resolve_precision("fp16", torch.device("cpu"))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torchao" else real(name, *a))
    problems = validate(tiny_config(tiny_text, tmp_path, train={"precision": "fp8"}))
    assert any("needs the torchao package" in p for p in problems)


def test_the_estimate_counts_fp8_emulation_on_a_cpu_only():
    from engine.config.schema import from_dict
    from engine.plan.estimate import CPU_FP8_SLOWDOWN, estimate

    def step(precision, device_type):
        cfg = from_dict({"train": {"precision": precision}})
        return estimate(cfg, vocab_size=65, peak_flops=1e11, device_type=device_type).seconds_per_step

    assert step("fp8", "cpu") == pytest.approx(CPU_FP8_SLOWDOWN * step("fp32", "cpu"))
    assert step("fp8", "cuda") == pytest.approx(step("bf16", "cuda"))
