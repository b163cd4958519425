"""The loss-spike doctor names the cause of spikes made three ways: a learning-rate jump (through a real
training), logits grown by a scaled output head and attention collapsed by scaled queries and keys (read from
a real model), and each cause by the pure rule."""

import pytest
import torch

from engine.config.schema import TrainConfig
from engine.model.gpt import GPT
from engine.run.events import read_events
from engine.train.diagnosis import Readings, diagnose
from engine.train.doctor import SpikeDoctor
from tests.conftest import tiny_config
from tests.helpers import small, train

CALM = {"step": 400, "loss": 9.0, "recent_loss": 3.0, "lr": 1e-3, "peak_lr": 1e-3, "warmup_steps": 100,
        "lr_median": 1e-3, "grad_norm": 1.5, "grad_norm_median": 1.2, "grad_clip": 1.0, "logit_max": 9.0,
        "logit_max_before": 8.0, "entropy": 1.4, "entropy_before": 1.5}


@pytest.mark.parametrize("changed, cause, advice", [
    ({"lr": 0.5, "peak_lr": 0.5, "logit_max": 80.0, "entropy": 0.1}, "learning_rate", "lower train.lr (now 0.5)"),
    ({"step": 30, "warmup_steps": 5}, "learning_rate", "warm up longer (train.warmup_steps = 100)"),
    ({"logit_max": 40.0}, "logit_growth", "lower train.lr (now 0.001) and keep train.weight_decay above 0"),
    ({"entropy": 0.2, "logit_max": 40.0}, "attention_collapse", "normalize queries and keys (QK-norm)"),
    ({"grad_norm": 30.0, "grad_clip": 0.0}, "gradient_burst", "clip gradients (train.grad_clip = 1.0)"),
    ({}, "unclear", "if spikes repeat, lower train.lr"),
    ({"logit_max": 8.0, "logit_max_before": 0.3, "entropy": 1.2, "entropy_before": 3.0}, "unclear", ""),
])
def test_the_rule_names_each_cause_and_a_fix(changed, cause, advice):
    """The last case is an early model's ordinary growth: logits from near zero, entropy from uniform."""
    d = diagnose(Readings(**CALM | changed))
    assert d.cause == cause and d.advice.startswith(advice)
    sentence = d.sentence(Readings(**CALM | changed))
    assert sentence.startswith("loss spike at step ") and sentence.count(";") == 1


def trained_looking_model() -> GPT:
    """A tiny model whose logits reach about 10, as a trained model's do (an initialized one's are near 0)."""
    torch.manual_seed(0)
    model = GPT(small(tie_weights=False))
    with torch.no_grad():
        model.lm_head.weight.mul_(30)
    return model


def doctor_after(change) -> dict:
    model = trained_looking_model()
    doctor = SpikeDoctor(model, list(range(1, 17)), TrainConfig(lr=1e-3))
    with torch.no_grad():
        change(model)
    return doctor.examine(400, 9.0, 3.0, 1e-3)


def test_a_scaled_output_head_is_named_logit_growth():
    said = doctor_after(lambda m: m.lm_head.weight.mul_(10))
    assert said["cause"] == "logit_growth"
    assert said["readings"]["logit_max"] > 9 * said["readings"]["logit_max_before"]


def test_scaled_queries_and_keys_are_named_attention_collapse():
    def sharpen(model):
        for block in model.h:
            block.attn.c_attn.weight[:64].mul_(30)  # the query and key rows (width 32)

    said = doctor_after(sharpen)
    assert said["cause"] == "attention_collapse"
    assert said["readings"]["entropy"] < said["readings"]["entropy_before"] / 5


def test_a_learning_rate_jump_in_training_is_named_in_the_log_and_an_event(tmp_path, tiny_text):
    cfg = tiny_config(tiny_text, tmp_path, train={"max_steps": 33, "schedule": "constant", "eval_interval": 33})

    def jump(trainer, e):  # the rate 300x higher from step 31 on, as an edited config resumed would
        if e.type == "step" and e.step == 30:
            trainer.cfg.train.lr = 1.0

    train(cfg, on_event=jump)
    run = tmp_path / "run"
    said = [e for e in read_events(run / "events.jsonl") if e.type == "diagnosis"]
    assert [(e.step, e["cause"]) for e in said] == [(32, "learning_rate")]  # once for the streak of spikes
    assert said[0]["readings"]["lr_median"] == pytest.approx(3e-3)
    assert "doctor: loss spike at step 32" in (run / "train.log").read_text()
    assert "the learning rate jumped to 1, 333x its recent 0.003; lower train.lr" in said[0]["message"]
