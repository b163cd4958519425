"""What the trainer does when the loss goes bad: report spikes; on NaN/inf skip the step, roll back to
the last checkpoint with half the learning rate, or stop, as train.health_policy says. Weights that have
become NaN/inf cannot be skipped past: the run rolls back at once, or ends as diverged, naming the last
good checkpoint (a non-finite one is never written)."""

from __future__ import annotations

import math

import torch

from engine.core.errors import UserError
from engine.model import checkpoint as ckpt
from engine.run.folder import RUN_FILE
from engine.runtime import distributed as ddp
from engine.train.doctor import SpikeDoctor
from engine.train.health import LossMonitor

MAX_ROLLBACKS = 3


class TrainingStopped(Exception):
    """Raised inside the loop to end training early with a reason (nan, disk, ...)."""

    def __init__(self, kind: str, message: str):
        self.kind = kind
        super().__init__(message)


class Recovery:
    """Mixed into the Trainer: its loss monitor, run folder, checkpoints and events are used here."""

    def watch_health(self) -> None:
        """The loss monitor, and the doctor that says what caused its spikes (it reads the probe text, where one
        process holds the whole model and it has one stack of layers)."""
        self.monitor = LossMonitor(self.cfg.train.spike_factor)
        readable = not self.fsdp and self.model.config.arch != "t5" and self.dist.is_main
        self.doctor = SpikeDoctor(self.model, self.task.probe_ids() if readable else [], self.cfg.train)
        self.events.listeners.append(self.doctor)

    def _healthy(self, loss: torch.Tensor) -> bool:
        value = float(loss)
        verdict = self.monitor.check(value)
        if verdict == "loss_spike":
            factor = self.cfg.train.spike_factor
            self.events.emit("warning", self.step + 1, kind="loss_spike", loss=value,
                             message=f"loss spiked to {value:.3f} (over {factor}x its recent mean)")
            scale = self.scaler.get_scale() if self.scaler else 1.0  # fp16's loss scale, still in the gradients
            said = self.doctor.examine(self.step + 1, value, self.monitor.recent_mean, self.current_lr,
                                       lr_scale=self.lr_scale, grad_scale=scale)
            if said:  # the first spike of a streak
                self.events.emit("diagnosis", self.step + 1, **said)
            return True
        if verdict != "nan_loss":
            return True
        policy = self.cfg.train.health_policy
        self.events.emit("warning", self.step + 1, kind="nan_loss", policy=policy,
                         message=f"the loss is {value} at step {self.step + 1}; policy: {policy}")
        if policy == "stop":
            last = self._last_good()
            raise TrainingStopped("nan", f"the loss became {value} at step {self.step + 1} (policy: stop). Lower "
                                  f"train.lr or resume from the last checkpoint" + (f" ({last})" if last else ""))
        broken = not self.weights_finite()  # then skipping more steps cannot help: every loss will be NaN
        if policy == "skip" and not broken and self.monitor.bad_in_a_row <= self.cfg.train.max_bad_steps:
            return False
        self._rollback(broken)
        return False

    def _load_latest(self) -> str | None:
        """Load the newest readable checkpoint; a damaged newest one falls back to the one before. When the run
        had checkpoints and none is usable, resuming is refused: starting again at 0 would overwrite its history."""
        unusable: list[str] = []
        for info in reversed(ckpt.list_checkpoints(self.run_dir)):
            try:
                self._load_checkpoint(info.path)
                return info.name
            except UserError as e:  # a damaged one is set aside: retention never keeps it in a good one's place
                aside = ckpt.set_aside(info.path).name if isinstance(e, ckpt.BadCheckpoint) else None
                unusable.append(f"{info.name} (set aside as {aside})" if aside else info.name)
                self.events.emit("warning", kind="bad_checkpoint", message=f"skipped {info.name}: {e}" + (
                    f"; set aside as {aside}" if aside else ""))
        if unusable:
            raise UserError(f"no checkpoint of {self.run_dir} can be resumed from: {', '.join(unusable)} "
                            f"{'is' if len(unusable) == 1 else 'are'} damaged or unusable (kept, not deleted), so "
                            f"resuming would start again at step 0 over its history; to start over, train into a "
                            f"new train.out_dir")
        if (self.run_dir / RUN_FILE).exists():
            self.events.emit("warning", kind="no_checkpoint", message="no checkpoint to resume from: starting at 0")
        return None

    def weights_finite(self) -> bool:
        """No NaN/inf in the weights (each rank's shard when sharded: the verdict is shared by all ranks)."""
        ok = ckpt.all_finite(getattr(p, "to_local", lambda p=p: p)().detach() for p in self.model.parameters())
        if self.fsdp:
            ok = float(ddp.all_reduce_sum(torch.tensor(0.0 if ok else 1.0, device=self.device), self.dist)) == 0
        return ok

    def broken(self) -> str | None:
        """Why the model may not be saved: NaN/inf weights, or a NaN/inf validation loss (huge but finite
        weights can overflow to NaN in the forward pass); None when it is sound."""
        if not self.weights_finite():
            return "its weights became non-finite (NaN or inf)"
        val = self.last_val
        return None if math.isfinite(val) else f"its validation loss became {val}"

    def _last_good(self) -> str | None:
        good = ckpt.list_checkpoints(self.run_dir)
        return good[-1].name if good else None

    def diverged(self, what: str, why: str) -> TrainingStopped:
        """The run's end when its weights or losses stay non-finite, with the checkpoint to go back to."""
        last, lr = self._last_good(), self.cfg.train.lr
        where = f"; the last good checkpoint is {last}: " if last else "; "
        return TrainingStopped("diverged", f"the run diverged: {what} and {why}{where}lower train.lr (now {lr:g}) in "
                               f"{self.run_dir / RUN_FILE} and resume" + (" from it" if last else ""))

    def _rollback(self, broken: bool = False) -> None:
        good = ckpt.list_checkpoints(self.run_dir)
        if not good or self.rollbacks >= MAX_ROLLBACKS:
            what = f"its weights became non-finite (NaN or inf) at step {self.step + 1}" if broken else \
                f"the loss stayed non-finite up to step {self.step + 1}"
            raise self.diverged(what, "there is no checkpoint to roll back to" if not good else
                                f"{MAX_ROLLBACKS} rollbacks with a halved learning rate did not help")
        self.rollbacks += 1
        scale, elapsed = self.lr_scale, self.elapsed_before
        self._load_checkpoint(good[-1].path)
        self.lr_scale, self.elapsed_before = scale * 0.5, elapsed  # time spent stays spent
        self.monitor.bad_in_a_row = 0
        self.events.emit("warning", self.step, kind="rollback", to_step=self.step, lr_scale=self.lr_scale,
                         message=f"rolled back to step {self.step} and halved the learning rate")
        self.step -= 1  # the caller counts this (skipped) step; it resumes at the checkpoint's step
