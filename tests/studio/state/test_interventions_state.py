"""Interventions and the loss-spike doctor as the studio decides them, without Qt: the parts listed for a run's
shape, when the Intervene box is open and why not, the request it writes (read back by the trainer's own control
channel), the marks and the box's line, what holds each head at an evaluation, and the doctor's note."""

import time

import pytest

from engine.config import schema as C
from engine.config.interventions import target_problem
from engine.core.errors import UserError
from engine.run.control import ControlChannel
from engine.run.events import Event
from engine.train.diagnosis import Readings, diagnose
from studio.state.doctor import doctor_note
from studio.state.interventions import box_status, head_hold, intervene_box, marks, part_names, run_parts, send


def config(**train) -> C.RunConfig:
    return C.from_dict({"model": {"n_layer": 2, "n_head": 2}, "train": train})


def made(step, action, target, t=0.0) -> Event:
    return Event("intervention", step, t, {"action": action, "target": target, "source": "live",
                                          "message": f"{action} {target} at step {step}"})


def test_the_parts_listed_are_every_head_attention_mlp_and_layer_of_the_runs_shape():
    assert run_parts(config()) == ["h.0.attn.head.0", "h.0.attn.head.1", "h.0.attn", "h.0.mlp", "h.0",
                                   "h.1.attn.head.0", "h.1.attn.head.1", "h.1.attn", "h.1.mlp", "h.1"]
    t5 = part_names("t5", 1, 1, n_encoder_layer=2)
    assert t5 == ["encoder.h.0.attn.head.0", "encoder.h.0.attn", "encoder.h.0.mlp", "encoder.h.0",
                  "encoder.h.1.attn.head.0", "encoder.h.1.attn", "encoder.h.1.mlp", "encoder.h.1",
                  "decoder.h.0.attn.head.0", "decoder.h.0.attn", "decoder.h.0.cross_attn.head.0",
                  "decoder.h.0.cross_attn", "decoder.h.0.mlp", "decoder.h.0"]
    for arch, names in (("gpt", part_names("gpt", 3, 4)), ("bert", part_names("bert", 2, 2)), ("t5", t5)):
        assert all(target_problem(n, arch=arch, n_layer=3 if arch == "gpt" else 1 if arch == "t5" else 2,
                                  n_head=4 if arch == "gpt" else 1 if arch == "t5" else 2, n_encoder_layer=2) is None
                   for n in names)  # each a name the engine takes


def test_the_box_opens_only_for_a_single_process_run_that_trains_and_says_why():
    assert not intervene_box(None, training=False).enabled
    stopped = intervene_box(config(), training=False)
    assert not stopped.enabled and "not training" in stopped.why and "[[train.interventions]]" in stopped.why
    assert stopped.parts  # listed, greyed
    live = intervene_box(config(), training=True)
    assert live.enabled and "before the trainer's next step" in live.why and "paused" not in live.why
    assert "applies it when the run resumes" in intervene_box(config(), training=True, paused=True).why
    for cfg, why in ((config(parallel="fsdp"), 'train.parallel = "fsdp" shards them'),
                     (config(processes=2), "live interventions need a single-process run")):
        box = intervene_box(cfg, training=True)
        assert not box.enabled and why in box.why and box.why.startswith("Cannot intervene in this run: ")
    lora = config()
    lora.finetune.method = "lora"
    assert "LoRA fine-tune keeps frozen" in intervene_box(lora, training=True).why


def test_apply_writes_the_request_the_trainers_control_channel_takes(tmp_path):
    trainer = ControlChannel(tmp_path, since=time.time() - 1)
    said = send(tmp_path, config(), "zero", "h.1.attn.head.0")
    assert said == "Asked to zero h.1.attn.head.0: the trainer does it before its next step."
    send(tmp_path, config(), "reinit", "h.0.mlp")
    trainer.poll()
    assert trainer.take_interventions() == [{"action": "zero", "target": "h.1.attn.head.0"},
                                            {"action": "reinit", "target": "h.0.mlp"}]
    with pytest.raises(UserError, match=r"cannot freeze 'h.2.mlp': this model has layers 0-1$"):
        send(tmp_path, config(), "freeze", "h.2.mlp")
    with pytest.raises(UserError, match="unknown intervention 'explode'"):
        send(tmp_path, config(), "explode", "h.0")


def test_marks_and_the_boxs_line_follow_the_trainers_answers_and_the_configs_plan():
    events = [made(3, "freeze", "h.0.mlp", t=10.0), made(7, "zero", "h.1.attn.head.1", t=20.0)]
    assert [(m.step, m.label) for m in marks(events)] == [(3, "freeze h.0.mlp"), (7, "zero h.1.attn.head.1")]
    refused = Event("warning", 8, 30.0, {"kind": "intervention", "message": "zero h.0 refused: a reason"})
    spike = Event("warning", 9, 40.0, {"kind": "loss_spike", "message": "loss spiked"})
    assert box_status(events, [], None, 8, None) == "zero h.1.attn.head.1 at step 7"
    assert box_status(events, [refused, spike], None, 8, None) == "zero h.0 refused: a reason"
    assert box_status(events, [refused], None, 8, (35.0, "Asked to zero h.0")) == "Asked to zero h.0"
    planned = config(interventions=[{"step": 7, "action": "zero", "target": "h.1.attn.head.1"},
                                    {"step": 50, "action": "reinit", "target": "h.1"}])
    assert box_status(events, [], planned, 8, None) == ("zero h.1.attn.head.1 at step 7. Planned in run.toml: "
                                                         "re-initialise h.1 at step 50.")
    assert box_status([], [], planned, 60, None) == ""  # past its steps: nothing still to come


def test_a_head_is_held_from_the_evaluation_after_its_intervention_by_itself_its_attention_or_its_layer():
    events = [made(10, "zero", "h.1.attn.head.0"), made(20, "freeze", "h.0"), made(30, "freeze", "h.1.mlp"),
              made(40, "reinit", "h.1.attn")]
    assert head_hold(events, 10, 1, 0) is None  # the evaluation of step 10 came before it
    assert head_hold(events, 20, 1, 0) == ("zero", 10)
    assert head_hold(events, 20, 1, 1) is None and head_hold(events, 20, 0, 1) is None
    assert head_hold(events, 30, 0, 1) == ("freeze", 20)  # its layer froze it
    assert head_hold(events, 40, 1, 0) == ("zero", 10)  # the MLP's freeze does not touch it
    assert head_hold(events, 50, 1, 0) == ("reinit", 40)  # its attention's re-initialisation let it go
    assert head_hold([made(5, "zero", "h.1")], 10, 10, 0) is None  # h.1 holds no head of layer 10
    assert head_hold([made(5, "zero", "h.1"), made(5, "reinit", "h.1.attn.head.0")], 10, 1, 0) == ("reinit", 5)


def diagnosis(step, **readings) -> Event:
    """The event engine/train/doctor.py writes at a spike with these readings."""
    r = Readings(step=step, loss=9.0, recent_loss=2.0, lr=3e-3, peak_lr=3e-3, warmup_steps=10, **readings)
    d = diagnose(r)
    return Event("diagnosis", step, 0.0, {"cause": d.cause, "advice": d.advice, "message": d.sentence(r),
                                          "readings": r.plain()})


def test_the_doctors_note_names_the_newest_spikes_step_cause_and_fix_and_keeps_its_readings():
    assert doctor_note([]) is None
    jump = diagnosis(500, lr_median=1e-4)
    note = doctor_note([jump])
    assert note.text == ("Loss spike at step 500: likely cause, the learning rate. Try: lower train.lr (now 0.003) "
                         "or raise it gradually with a warm-up.")
    assert note.detail.splitlines()[0] == jump["message"] and "recent median learning rate: 0.0001" in note.detail
    burst = diagnosis(900, grad_norm=50.0, grad_norm_median=1.0)
    note = doctor_note([jump, burst])
    assert note.text.startswith("Loss spike at step 900: likely cause, a gradient burst. Try: clip gradients")
    assert note.text.endswith("(1 earlier spike diagnosed: see the Log.)")
