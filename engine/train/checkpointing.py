"""The trainer's checkpoints: writing one (never a non-finite model; a full disk stops the run as resumable),
pruning the old ones, and loading one back into the model and optimizer."""

from __future__ import annotations

import math
import time
from pathlib import Path

from engine.core.errors import UserError
from engine.model import checkpoint as ckpt
from engine.model.build import config_dict
from engine.model.load import BASE_DIR
from engine.run.folder import CHECKPOINTS_DIR, TOKENIZER_FILE
from engine.train import sharding
from engine.train.recovery import TrainingStopped


class Checkpointing:
    """Mixed into the Trainer: its model, optimizer, run folder, task and events are used here."""

    def _load_checkpoint(self, path: Path) -> None:
        meta = ckpt.read_meta(path)
        opt_file = path / ckpt.OPTIMIZER_FILE
        opt = ckpt.load_tensors(opt_file, device=str(self.device)) if opt_file.is_file() and meta.get(
            "optimizer") else None  # read first: a damaged one must not leave the weights half-loaded
        sharding.load_model(self.model, path, self.fsdp, partial=self.lora is not None)
        if opt is not None:
            try:
                sharding.load_optimizer(self.model, self.optimizer, opt, meta["optimizer"], self.fsdp)
            except (ValueError, KeyError) as e:
                raise UserError(f"{path.name}: optimizer state does not fit this run ({e})") from None
        self.step = int(meta["step"])
        self.best_val = meta.get("best_val_loss") or math.inf
        own = meta.get("val_loss")  # a saved checkpoint's weights were sound: no earlier NaN loss carries over
        self.last_val, self.last_val_step = (own, self.step) if own is not None else (0.0, -1)
        self.lr_scale = meta.get("lr_scale", 1.0)
        self.elapsed_before = meta.get("elapsed", 0.0)
        self.evals_without_gain = meta.get("evals_without_gain", 0)
        self.interventions.restart(self.step)  # what the interventions before this step hold, held again

    def _checkpoint_at(self, step: int) -> bool:
        return (self.run_dir / CHECKPOINTS_DIR / f"step-{step:06d}").is_dir()

    def save(self, *, best: bool) -> None:
        if not (self.dist.is_main or self.fsdp):
            return
        why = self.broken()
        if why:  # never written, so never resumed, kept, exported or taken as best
            raise self.diverged(f"{why} by step {self.step}", "it was not saved")
        tensors, opt_meta = sharding.optimizer_state(self.model, self.optimizer, self.fsdp)  # sharded: collective
        weights = sharding.model_state(self.model, self.fsdp, trainable_only=bool(self.lora))
        if not self.dist.is_main:
            return
        extra = {"lora": self.lora, "base": BASE_DIR} if self.lora else {}
        if self.task.labels:
            extra["labels"] = self.task.labels
        own = self.last_val if self.last_val_step == self.step else None  # measured on these weights, or none
        meta = {**extra, "val_loss": own, "best": best,
                "best_val_loss": None if math.isinf(self.best_val) else self.best_val, "lr_scale": self.lr_scale,
                "elapsed": self.elapsed(), "evals_without_gain": self.evals_without_gain,
                "model": config_dict(self.gpt_config), "optimizer": opt_meta, "time": time.time()}
        try:
            self.faults.disk(self.step)
            path = ckpt.save_checkpoint(self.run_dir, self.step, self.model, meta=meta, optimizer_tensors=tensors,
                                        extra_files={TOKENIZER_FILE: self.tokenizer.to_str()}, tensors=weights)
        except OSError as e:
            raise TrainingStopped("disk", f"could not write the checkpoint at step {self.step}: {e.strerror or e}. "
                                  f"The previous checkpoint is intact; free disk space, then resume") from None
        keep: set[Path] = set()
        if self.cfg.train.keep_best:  # the newest checkpoint marked best is the best so far
            keep = {c.path for c in ckpt.list_checkpoints(self.run_dir) if ckpt.read_meta(c.path).get("best")}
            keep = {max(keep)} if keep else set()
        for text in ckpt.prune_checkpoints(self.run_dir, keep_last=self.cfg.train.keep_last, keep=keep):
            self.events.emit("warning", self.step, kind="bad_checkpoint", message=f"checkpoint {text}")
        self.events.emit("checkpoint", self.step, path=str(path.relative_to(self.run_dir)), best=best)
