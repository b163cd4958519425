"""The loss-spike doctor's rule: from a few numbers read at a spike, its likely cause and a fix in one sentence.

Pure (numbers in, words out), so each cause is tested without training. The readings are the learning rate
against its recent median and the schedule's peak, the gradient norm against its recent median, the largest
output logit and the mean attention entropy against the same text's at the last evaluation. The causes are
tried from the most upstream: a learning-rate jump makes the logits grow and attention collapse as well, so it
is named first; then attention-entropy collapse (Zhai et al. 2023: QK-norm is its fix), logit growth (a z-loss
or weight decay holds it), a spike soon after a short warm-up at the peak rate, and a gradient burst.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

LR_JUMP = 3.0
"""A rate this many times its recent median jumped: a linear warm-up rises at most 2x over its recent median."""
ENTROPY_FALL = 3.0
ENTROPY_DROP = 0.5
"""Attention collapsed: its mean entropy fell to a third or less, and by at least half a nat."""
LOGIT_GROWTH = 3.0
LOGIT_FLOOR = 5.0
"""Logits grew: the largest is 3x the last evaluation's, and 3x at least 5 (an early model's are near 0)."""
GRAD_BURST = 10.0
EARLY = 100
"""Steps after the warm-up in which a spike at the peak rate blames the warm-up's length."""

CAUSES = ("learning_rate", "attention_collapse", "logit_growth", "gradient_burst", "unclear")


@dataclass
class Readings:
    step: int
    loss: float
    recent_loss: float
    lr: float
    peak_lr: float
    """The schedule's peak (train.lr, times a rollback's scale)."""
    warmup_steps: int
    lr_median: float | None = None
    grad_norm: float | None = None
    grad_norm_median: float | None = None
    grad_clip: float = 0.0
    logit_max: float | None = None
    logit_max_before: float | None = None
    entropy: float | None = None
    """Mean attention entropy in nats, over layers, heads and positions of the probe text."""
    entropy_before: float | None = None

    def plain(self) -> dict:
        return {k: round(v, 6) if isinstance(v, float) else v for k, v in asdict(self).items() if v is not None}


@dataclass
class Diagnosis:
    cause: str
    why: str
    """The readings that name the cause, in words."""
    advice: str

    def sentence(self, r: Readings) -> str:
        return f"loss spike at step {r.step} ({r.loss:.3g} against {r.recent_loss:.3g}): {self.why}; {self.advice}"


def diagnose(r: Readings) -> Diagnosis:
    if r.lr_median and r.lr >= LR_JUMP * r.lr_median:
        return Diagnosis("learning_rate", f"the learning rate jumped to {r.lr:.3g}, {r.lr / r.lr_median:.0f}x its "
                         f"recent {r.lr_median:.3g}",
                         f"lower train.lr (now {r.peak_lr:.3g}) or raise it gradually with a warm-up")
    if r.entropy is not None and r.entropy_before is not None and r.entropy * ENTROPY_FALL <= r.entropy_before \
            and r.entropy_before - r.entropy >= ENTROPY_DROP:
        return Diagnosis("attention_collapse", f"attention entropy collapsed from {r.entropy_before:.2f} to "
                         f"{r.entropy:.2f} nats (heads attend to single tokens)",
                         f"normalize queries and keys (QK-norm) or lower train.lr (now {r.peak_lr:.3g})")
    if r.logit_max is not None and r.logit_max_before is not None and \
            r.logit_max >= LOGIT_GROWTH * max(r.logit_max_before, LOGIT_FLOOR):
        return Diagnosis("logit_growth", f"the output logits grew from {r.logit_max_before:.3g} to "
                         f"{r.logit_max:.3g}", f"lower train.lr (now {r.peak_lr:.3g}) and keep train.weight_decay "
                         "above 0, or add a z-loss, to hold the logits down")
    if r.warmup_steps < r.step <= 2 * r.warmup_steps + EARLY and r.lr >= 0.5 * r.peak_lr:
        longer = max(2 * r.warmup_steps, EARLY)
        return Diagnosis("learning_rate", f"it came {r.step - r.warmup_steps} steps after a {r.warmup_steps}-step "
                         f"warm-up, at the peak rate {r.lr:.3g}",
                         f"warm up longer (train.warmup_steps = {longer}) or lower train.lr")
    if r.grad_norm is not None and r.grad_norm_median and r.grad_norm >= GRAD_BURST * r.grad_norm_median:
        why = f"the gradient norm burst to {r.grad_norm:.3g}, {r.grad_norm / r.grad_norm_median:.0f}x its recent " \
              f"{r.grad_norm_median:.3g}"
        if not r.grad_clip:
            return Diagnosis("gradient_burst", why, "clip gradients (train.grad_clip = 1.0)")
        return Diagnosis("gradient_burst", why + f", clipped to {r.grad_clip:g}",
                         "if spikes repeat, lower train.lr or train.grad_clip")
    return Diagnosis("unclear", "no reading stood out (likely a hard batch)", "if spikes repeat, lower train.lr")
