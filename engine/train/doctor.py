"""The loss-spike doctor: when the loss monitor sees a spike, read the model and say the likely cause and a fix,
as a `diagnosis` event (the log's line, the studio's note), by the rule in engine/train/diagnosis.py.

It listens to the run's events: step events give the recent learning rates and gradient norms, and at each
evaluation (and at start) it reads the probe text once, its largest output logit and mean attention entropy
through the hook points: one forward pass of at most 64 tokens, beside the evaluation's many. At a spike it
reads the same text again and the gradients' norm. Nothing is read at a healthy step.
"""

from __future__ import annotations

import statistics
import weakref
from collections import deque

import torch

from engine.model.hooks import attention_patterns
from engine.run.events import Event
from engine.train.diagnosis import Readings, diagnose


@torch.no_grad()
def read_model(model, ids: list[int]) -> tuple[float, float] | None:
    """(largest |output logit|, mean attention entropy in nats) on `ids`; None where they cannot be read."""
    if not ids:
        return None
    idx = torch.tensor([ids], device=next(model.parameters()).device)
    logits, maps = attention_patterns(model, idx)
    entropy = torch.stack([-(m.float() * m.float().clamp_min(1e-12).log()).sum(-1).mean() for m in maps]).mean()
    return float(logits.float().abs().max()), float(entropy)


def gradient_norm(model, scale: float = 1.0) -> float | None:
    """The norm of the gradients as backward left them (`scale`: a loss scaler's factor, divided out)."""
    grads = [p.grad for p in model.parameters() if p.grad is not None] if model is not None else []
    if not grads:
        return None
    return float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)).float())) / scale


class SpikeDoctor:
    def __init__(self, model, ids: list[int], train_cfg, *, window: int = 50):
        """`ids`: the probe text ([] where the model is not read: a sharded or encoder-decoder model)."""
        self._model, self.ids, self.tr = weakref.ref(model), ids, train_cfg  # the trainer's to let go (a process
        # group's threads live as long as a sharded model does)
        self.lrs: deque[float] = deque(maxlen=window)
        self.grad_norms: deque[float] = deque(maxlen=window)
        self.before = self._read()
        self.last_spike = -2

    def __call__(self, e: Event) -> None:
        """An events listener: the recent rates and norms, and a fresh reading at each evaluation."""
        if e.type == "step":
            if e.get("lr") is not None:
                self.lrs.append(e["lr"])
            if e.get("grad_norm") is not None:
                self.grad_norms.append(e["grad_norm"])
        elif e.type == "eval":
            self.before = self._read()

    def examine(self, step: int, loss: float, recent_loss: float, lr: float, *, lr_scale: float = 1.0,
                grad_scale: float = 1.0) -> dict | None:
        """At a spike of `step` (its gradients not yet stepped): the diagnosis event's fields, its sentence in
        `message`; None when the step before spiked too (one diagnosis a streak of spikes)."""
        streak, self.last_spike = step == self.last_spike + 1, step
        if streak:
            return None
        now = self._read()
        r = Readings(step=step, loss=loss, recent_loss=recent_loss, lr=lr, peak_lr=self.tr.lr * lr_scale,
                     warmup_steps=self.tr.warmup_steps, lr_median=_median(self.lrs),
                     grad_norm=gradient_norm(self._model(), grad_scale), grad_norm_median=_median(self.grad_norms),
                     grad_clip=self.tr.grad_clip)
        if now and self.before:
            r.logit_max, r.entropy = now
            r.logit_max_before, r.entropy_before = self.before
        d = diagnose(r)
        return {"cause": d.cause, "advice": d.advice, "message": d.sentence(r), "readings": r.plain()}

    def _read(self) -> tuple[float, float] | None:
        model = self._model()
        if model is None:
            return None
        try:
            return read_model(model, self.ids)
        except Exception:  # noqa: BLE001 - a model this reading does not fit: the doctor never stops a run
            return None


def _median(values) -> float | None:
    return statistics.median(values) if values else None
