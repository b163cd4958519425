"""The control file's intervention queue: a pause written after an intervention does not lose it, each is taken
once, and those written before the trainer's session are stale."""

import time

from engine.run.control import ControlChannel, request, request_intervention


def test_an_intervention_survives_a_later_pause_and_is_taken_once(tmp_path):
    channel = ControlChannel(tmp_path, since=time.time() - 1)
    request_intervention(tmp_path, "zero", "h.0.attn.head.1")
    request(tmp_path, "pause")  # before the trainer looked: both still reach it
    assert channel.poll() == "pause"
    assert channel.take_interventions() == [{"action": "zero", "target": "h.0.attn.head.1"}]
    request(tmp_path, "resume")
    assert channel.poll() == "resume"
    assert channel.take_interventions() == []  # the queue still holds it, but it was taken


def test_interventions_asked_for_before_the_session_are_stale(tmp_path):
    request_intervention(tmp_path, "freeze", "h.0.mlp")
    later, earlier = ControlChannel(tmp_path, since=time.time() + 1), ControlChannel(tmp_path, since=1.0)
    request(tmp_path, "checkpoint")
    later.poll(), earlier.poll()
    assert later.take_interventions() == []
    assert earlier.take_interventions() == [{"action": "freeze", "target": "h.0.mlp"}]
