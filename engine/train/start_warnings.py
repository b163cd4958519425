"""Settings the trainer accepts but that rarely mean what the user wants, said once at the start (a
`warning` event of kind "config", in the event stream, the log and on the Train page)."""

from __future__ import annotations

from engine.config.schema import TRAINED_TOKENIZERS, RunConfig
from engine.core.text import human_seconds
from engine.plan.estimate import estimate


def start_warnings(cfg: RunConfig, *, vocab_size: int, resuming: bool = False, peak_flops: float | None = None,
                   device_type: str = "cpu") -> list[str]:
    t, tok, m = cfg.train, cfg.tokenizer, cfg.model
    out = []
    e = estimate(cfg, vocab_size=vocab_size, peak_flops=peak_flops, device_type=device_type)
    attention = 12 * m.n_layer * m.n_embd * m.block_size
    if attention > e.flops_per_token / 2:
        took = f": by the estimate the run takes {human_seconds(e.seconds_total)} here" if e.seconds_total else ""
        out.append(f"model.block_size = {m.block_size} makes attention {attention / e.flops_per_token:.0%} of each "
                   f"token's work{took}; a shorter context trains more tokens a second")
    if t.warmup_steps >= t.max_steps and not t.time_budget:  # a budget's warm-up is a share of its time
        out.append(f"train.warmup_steps ({t.warmup_steps}) is not shorter than the run ({t.max_steps} steps): the "
                   f"learning rate never reaches train.lr = {t.lr:g}")
    if t.eval_interval > t.max_steps:
        out.append(f"train.eval_interval ({t.eval_interval}) is beyond the last step ({t.max_steps}): the run is "
                   f"evaluated only at its start and end")
    if (not resuming and not cfg.finetune.source and tok.kind in TRAINED_TOKENIZERS
            and vocab_size < tok.vocab_size * 0.9):
        out.append(f"tokenizer.vocab_size asked for {tok.vocab_size:,} tokens but the corpus gave {vocab_size:,}: "
                   f"the rest would never be seen, so the vocabulary is smaller")
    if t.precision == "fp8" and device_type == "cpu":
        out.append('train.precision = "fp8" on a CPU is emulated: 2-3x slower than fp32, the same numbers '
                   "as on a GPU with fp8 tensor cores, so the run shows what fp8 does to the loss, not its speed")
    return out
