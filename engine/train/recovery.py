"""What the trainer does when the loss goes bad: report spikes; on NaN/inf skip the step, roll back to
the last checkpoint with half the learning rate, or stop, as train.health_policy says."""

from __future__ import annotations

import torch

from engine.train import checkpoint as ckpt

MAX_ROLLBACKS = 3


class TrainingStopped(Exception):
    """Raised inside the loop to end training early with a reason (nan, disk, ...)."""

    def __init__(self, kind: str, message: str):
        self.kind = kind
        super().__init__(message)


class Recovery:
    """Mixed into the Trainer: its loss monitor, run folder, checkpoints and events are used here."""

    def _healthy(self, loss: torch.Tensor) -> bool:
        value = float(loss)
        verdict = self.monitor.check(value)
        if verdict == "loss_spike":
            factor = self.cfg.train.spike_factor
            self.events.emit("warning", self.step + 1, kind="loss_spike", loss=value,
                             message=f"loss spiked to {value:.3f} (over {factor}x its recent mean)")
            return True
        if verdict != "nan_loss":
            return True
        policy = self.cfg.train.health_policy
        self.events.emit("warning", self.step + 1, kind="nan_loss", policy=policy,
                         message=f"the loss is {value} at step {self.step + 1}; policy: {policy}")
        if policy == "stop":
            raise TrainingStopped("nan", f"the loss became {value} at step {self.step + 1} (policy: stop). Lower "
                                  f"train.lr or resume from the last checkpoint")
        if policy == "skip" and self.monitor.bad_in_a_row <= self.cfg.train.max_bad_steps:
            return False
        self._rollback()
        return False

    def _rollback(self) -> None:
        good = ckpt.list_checkpoints(self.run_dir)
        if not good or self.rollbacks >= MAX_ROLLBACKS:
            why = "there is no checkpoint to roll back to" if not good else "rollbacks are used up"
            raise TrainingStopped("nan", f"the loss stayed non-finite and {why}: lower train.lr and resume")
        self.rollbacks += 1
        scale = self.lr_scale
        self._load_checkpoint(good[-1].path)
        self.lr_scale = scale * 0.5
        self.monitor.bad_in_a_row = 0
        self.events.emit("warning", self.step, kind="rollback", to_step=self.step, lr_scale=self.lr_scale,
                         message=f"rolled back to step {self.step} and halved the learning rate")
        self.step -= 1  # the caller counts this (skipped) step; it resumes at the checkpoint's step
