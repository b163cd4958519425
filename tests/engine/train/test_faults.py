"""The reliability tests' fault switches are read once, as a trainer starts, and cost nothing when unset."""

import pytest
import torch

from engine.train.faults import Faults


def test_the_switches_are_read_once_and_a_later_change_of_the_environment_does_nothing(monkeypatch):
    monkeypatch.setenv("ENGINE_FAULT_NAN_STEPS", "3,4")
    monkeypatch.setenv("ENGINE_FAULT_OOM_ABOVE", "8")
    monkeypatch.setenv("ENGINE_FAULT_DISK_FULL_AT", "20")
    monkeypatch.setenv("ENGINE_FAULT_WAIT_AT", "5:/no/such/file")
    faults = Faults.from_environment()
    monkeypatch.delenv("ENGINE_FAULT_NAN_STEPS")
    monkeypatch.delenv("ENGINE_FAULT_OOM_ABOVE")
    assert (faults.nan_steps, faults.oom_above, faults.disk_full_at) == ({3, 4}, 8, 20)
    assert (faults.wait_at, faults.wait_for) == (5, "/no/such/file")
    loss = torch.tensor(1.5)
    assert torch.isnan(faults.loss(loss, step=2, batch_size=8))  # step 3 is the third step (0-based 2)
    assert faults.loss(loss, step=2, batch_size=8) is loss  # once each, like a real blip
    with pytest.raises(torch.OutOfMemoryError):
        faults.loss(loss, step=0, batch_size=9)
    with pytest.raises(OSError, match="No space left"):
        faults.disk(20)
    faults.disk(19)


def test_with_nothing_set_every_hook_passes_through(monkeypatch):
    for name in ("OOM_ABOVE", "NAN_STEPS", "HOLD_AT", "WAIT_AT", "DISK_FULL_AT"):
        monkeypatch.delenv(f"ENGINE_FAULT_{name}", raising=False)
    faults = Faults.from_environment()
    assert faults == Faults()
    loss = torch.tensor(0.5)
    assert all(faults.loss(loss, step=s, batch_size=4096) is loss for s in range(50))
    faults.hold(0)
    faults.disk(0)
