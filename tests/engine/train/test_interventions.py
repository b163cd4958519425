"""Interventions during training: a zeroed head stays zero, a frozen MLP does not move, a resume and a rerun of
the recorded config reproduce the run, a live request is applied and recorded, bad parts are refused."""

import pytest
import torch

from engine.cli import main
from engine.config import schema as config_mod
from engine.core.tomlio import dumps_toml
from engine.model.build import build_model
from engine.model.gpt import GPT
from engine.model.hooks import run_with_cache
from engine.run.control import request_intervention
from engine.run.events import read_events
from engine.train.interventions import Interventions, parts
from tests.conftest import tiny_config
from tests.helpers import small, step_losses, train

TWO_LAYERS = {"n_layer": 2, "n_head": 2}


def plan(*entries):
    return [{"step": s, "action": a, "target": t} for s, a, t in entries]


def head_output(model, layer: int, head: int) -> torch.Tensor:
    """The head's `hook_z` output on a text of the vocabulary's first tokens."""
    _, cache = run_with_cache(model, torch.arange(1, 12)[None], names=[f"h.{layer}.attn.hook_z"])
    return cache[f"h.{layer}.attn.hook_z"][:, head]


def test_a_zeroed_head_stays_zero_and_a_frozen_mlp_does_not_move(tmp_path, tiny_text):
    cfg = tiny_config(tiny_text, tmp_path, model=TWO_LAYERS, train={"max_steps": 12, "interventions": plan(
        (3, "zero", "h.1.attn.head.1"), (3, "freeze", "h.0.mlp"))})
    start, frozen = {}, {}

    def watch(trainer, e):
        if e.type == "started":
            start.update({k: v.clone() for k, v in trainer.model.state_dict().items()})
        if e.type == "intervention" and e["action"] == "freeze":
            frozen.update({k: v.clone() for k, v in trainer.model.h[0].mlp.state_dict().items()})

    model = train(cfg, on_event=watch).model
    assert head_output(model, 1, 1).abs().max() == 0  # exactly zero, nine steps after it was zeroed
    assert head_output(model, 1, 0).abs().max() > 0
    rows = [k * 32 + 16 + i for k in range(3) for i in range(16)]  # its query, key and value rows (width 32)
    assert not model.h[1].attn.c_attn.weight[rows].any() and not model.h[1].attn.c_proj.weight[:, 16:].any()
    assert all(torch.equal(v, frozen[k]) for k, v in model.h[0].mlp.state_dict().items())
    assert not torch.equal(frozen["c_fc.weight"], start["h.0.mlp.c_fc.weight"])  # it trained before step 3
    assert not torch.equal(model.h[0].attn.c_attn.weight, start["h.0.attn.c_attn.weight"])  # the rest trains on
    events = [e for e in read_events(tmp_path / "run" / "events.jsonl") if e.type == "intervention"]
    assert [(e.step, e["action"], e["target"], e["source"]) for e in events] == [
        (3, "zero", "h.1.attn.head.1", "config"), (3, "freeze", "h.0.mlp", "config")]
    assert "intervention: zeroed h.1.attn.head.1 at step 3" in (tmp_path / "run" / "train.log").read_text()


def test_a_resume_after_interventions_continues_exactly_the_uninterrupted_run(tmp_path, tiny_text):
    entries = plan((4, "zero", "h.1.attn.head.0"), (4, "freeze", "h.0.mlp"), (6, "reinit", "h.0.attn.head.1"),
                   (9, "freeze", "h.1.mlp"), (12, "reinit", "h.1"), (13, "zero", "h.0.attn"))
    extra = {"max_steps": 16, "eval_interval": 8, "interventions": entries}
    whole = train(tiny_config(tiny_text, tmp_path / "a", model=TWO_LAYERS, train=extra | {
        "out_dir": str(tmp_path / "whole")}))
    part_cfg = tiny_config(tiny_text, tmp_path / "b", model=TWO_LAYERS, train=extra | {
        "out_dir": str(tmp_path / "part")})
    assert train(part_cfg, stop_at=9).step == 9
    part = train(part_cfg, resume=True)
    a, b = step_losses(tmp_path / "whole"), step_losses(tmp_path / "part")
    assert [a[s] for s in range(1, 17)] == [b[s] for s in range(1, 17)]
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, part.model.state_dict()[name]), name
    resumed = [e.step for e in read_events(tmp_path / "part" / "events.jsonl") if e.type == "intervention"]
    assert resumed == [4, 4, 6, 9, 12, 13]  # each made once: the resume holds those before step 9 again, silently


def test_a_rollback_holds_again_what_its_checkpoint_held(tmp_path, tiny_text, monkeypatch):
    monkeypatch.setenv("ENGINE_FAULT_NAN_STEPS", "8")  # a NaN loss at step 8: back to the checkpoint at step 5
    cfg = tiny_config(tiny_text, tmp_path, model=TWO_LAYERS, train={
        "max_steps": 10, "eval_interval": 5, "health_policy": "rollback",
        "interventions": plan((3, "zero", "h.1.attn.head.1"), (6, "reinit", "h.1"), (7, "freeze", "h.0.mlp"))})
    frozen = []
    model = train(cfg, on_event=lambda t, e: e.type == "intervention" and e["action"] == "freeze" and frozen.append(
        t.model.h[0].mlp.c_fc.weight.detach().clone())).model
    events = read_events(tmp_path / "run" / "events.jsonl")
    assert [e["to_step"] for e in events if e.type == "warning" and e["kind"] == "rollback"] == [5]
    assert [e.step for e in events if e.type == "intervention"] == [3, 6, 7, 6, 7]  # made again after the rollback
    assert head_output(model, 1, 1).abs().max() > 0  # re-initialised at step 6, it trained again
    first, second = frozen  # the first freeze let go at the rollback: the MLP trained from step 5 to 7 again
    assert not torch.equal(first, second) and torch.equal(model.h[0].mlp.c_fc.weight, second)


def test_a_live_request_is_applied_recorded_and_reproduced_by_the_run_config(tmp_path, tiny_text):
    cfg = tiny_config(tiny_text, tmp_path, model=TWO_LAYERS, train={"max_steps": 10})
    run = tmp_path / "run"

    def ask(trainer, e):
        if e.type == "step" and e.step == 4:
            request_intervention(run, "zero", "h.0.attn.head.1")

    live = train(cfg, on_event=ask)
    [event] = [e for e in read_events(run / "events.jsonl") if e.type == "intervention"]
    assert (event.step, event["action"], event["target"], event["source"]) == (4, "zero", "h.0.attn.head.1", "live")
    assert head_output(live.model, 0, 1).abs().max() == 0
    recorded = config_mod.load(run / "run.toml")
    assert recorded.train.interventions == plan((4, "zero", "h.0.attn.head.1"))
    recorded.train.out_dir = str(tmp_path / "rerun")
    train(recorded)
    assert step_losses(tmp_path / "rerun") == step_losses(run)


@pytest.mark.parametrize("entry, said", [
    ({"step": 2, "action": "zero", "target": "h.3.mlp"}, "train.interventions[0].target 'h.3.mlp': this model has "
                                                         "layers 0-1"),
    ({"step": 2, "action": "zero", "target": "h.0.attn.head.7"}, "this model has heads 0-1"),
    ({"step": 2, "action": "zero", "target": "h.0.mlp.head.1"}, "is not a part of the model: name a head "
                                                                "(h.1.attn.head.2)"),
    ({"step": 2, "action": "explode", "target": "h.0"}, "train.interventions[0].action must be one of freeze, "
                                                        "zero, reinit, got 'explode'"),
    ({"step": -1, "action": "zero", "target": "h.0"}, "train.interventions[0].step must be a step number >= 0"),
])
def test_a_bad_intervention_in_the_config_is_refused_in_a_sentence(tmp_path, tiny_text, capsys, entry, said):
    cfg = tiny_config(tiny_text, tmp_path, model=TWO_LAYERS)
    data = cfg.to_dict()
    data["train"]["interventions"] = [entry]
    path = tmp_path / "bad.toml"
    path.write_text(dumps_toml(data))
    assert main(["train", str(path)]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_intervene_refuses_a_bad_part_and_a_run_that_is_not_training(tmp_path, tiny_text, capsys):
    cfg = tiny_config(tiny_text, tmp_path, model=TWO_LAYERS, train={"max_steps": 2})
    train(cfg)
    run = str(tmp_path / "run")
    assert main(["intervene", run, "--zero", "h.2.attn.head.0"]) == 2
    assert capsys.readouterr().err.strip() == "error: cannot zero 'h.2.attn.head.0': this model has layers 0-1"
    assert main(["intervene", run, "--freeze", "h.1.mlp"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {run} is not training (status: finished): to freeze h.1.mlp from step N, add "
                          '[[train.interventions]] step = N, action = "freeze", target = "h.1.mlp"')
    assert not (tmp_path / "run" / "control.json").exists()


def test_frozen_slices_get_no_gradient_so_clipping_does_not_count_them():
    model = GPT(small())
    held = Interventions(model, torch.optim.AdamW(model.parameters()), [], seed=0)
    held.apply({"step": 0, "action": "freeze", "target": "h.0.attn.head.1"})
    idx = torch.randint(0, 50, (2, 16))
    model(idx, idx)[1].backward()
    grad = model.h[0].attn.c_attn.weight.grad
    assert not grad[16:32].any() and not grad[48:64].any() and not grad[80:96].any()
    assert grad[:16].abs().sum() > 0 and model.h[0].attn.c_proj.weight.grad[:, :16].abs().sum() > 0
    assert not model.h[0].attn.c_proj.weight.grad[:, 16:].any()


def test_reinit_draws_the_model_s_own_initialization_the_same_way_on_a_rerun():
    a, b = GPT(small(tie_weights=False)), GPT(small(tie_weights=False))
    with torch.no_grad():
        b.h[1].mlp.c_fc.weight.mul_(7)
    for model in (a, b):
        Interventions(model, torch.optim.AdamW(model.parameters()), [], seed=3).apply(
            {"step": 5, "action": "reinit", "target": "h.1"})
    assert torch.equal(a.h[1].mlp.c_fc.weight, b.h[1].mlp.c_fc.weight)
    assert torch.equal(a.h[1].attn.c_proj.weight, b.h[1].attn.c_proj.weight)
    assert abs(float(a.h[1].mlp.c_fc.weight.detach().std()) - 0.02) < 0.002  # GPT-2's init,
    assert abs(float(a.h[1].mlp.c_proj.weight.detach().std()) - 0.02 / 2) < 0.002  # residual projections smaller
    assert torch.equal(a.h[1].ln_1.weight, torch.ones(32))


@pytest.mark.parametrize("arch, target, point", [("bert", "h.1.attn.head.0", "h.1.attn.hook_z"),
                                                 ("t5", "decoder.h.0.cross_attn.head.1", None)])
def test_heads_of_an_encoder_and_an_encoder_decoder_are_zeroed_too(arch, target, point):
    model = build_model(small(arch=arch, mlp="gelu" if arch == "bert" else "swiglu"))
    Interventions(model, torch.optim.AdamW(model.parameters()), [], seed=0).apply(
        {"step": 0, "action": "zero", "target": target})
    assert all(not getattr(owner, name)[index].any() for owner, name, index in parts(model, target))
    if point:
        _, cache = run_with_cache(model, torch.arange(1, 12)[None], names=[point])
        assert cache[point][:, 0].abs().max() == 0 and cache[point][:, 1].abs().max() > 0
