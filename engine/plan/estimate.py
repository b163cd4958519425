"""Parameters, FLOPs, memory and time of a model config: pure arithmetic, no torch.

The studio's Model page calls these on every keystroke, so they must be instant and exact: a test
checks `parameters()` against the real model's count.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from engine.config.schema import RunConfig
from engine.core.tomlio import write_atomic

# dense bf16 tensor-core peaks (FLOP/s) by device-name fragment, for MFU and time estimates on GPUs
GPU_BF16_PEAK = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12, "4090": 165e12,
                 "3090": 71e12, "V100": 125e12, "T4": 65e12}
BYTES = {"fp32": 4, "bf16": 2, "fp16": 2, "fp8": 2, "auto": 4}  # fp8 keeps bf16 activations
# Achieved fraction of peak for small models, measured here (CPU ~40%, GPU ~45% at GPT-2 small)
DEFAULT_EFFICIENCY = {"cpu": 0.35, "cuda": 0.40}
# Time a step spends outside the matmuls (Python, dispatch, autograd, optimizer), per layer and fixed:
# ~3.4 ms for a 6-layer model on this project's CPU (REFERENCE.md), kernel launches on a GPU
STEP_OVERHEAD_S = {"cpu": (0.0005, 0.001), "cuda": (0.00015, 0.001)}
CPU_FP8_SLOWDOWN = 2.7
"""train.precision = "fp8" on a CPU: torch emulates the fp8 matmuls, 2.6-2.8x an fp32 step (bench/README.md)."""
START_S = 3.0
"""Process start, imports and the first step's warm-up, measured at ~3 s (REFERENCE.md)."""
SLICE_LOGIT_BYTES = 64 << 20
"""Training a causal LM with a big vocabulary computes its loss in slices of this much fp32 logits
(engine/model/linear_loss.py): small enough to stay near the cache, big enough for efficient matmuls."""
MIN_LOGIT_BYTES = 256 << 20
"""Below this much fp32 logits per micro-batch the plain loss is as fast: slicing starts here."""
DISK_BYTES_PER_S = 400e6
"""A checkpoint's write (safetensors, then a rename), as measured here for GPT-2 small's 1.5 GB."""


@dataclass
class Estimate:
    params: int
    """All trainable parameters (tied embeddings counted once)."""
    matmul_params: int
    """The N of 6N: parameters in matrix products (the output head counts, tied or not)."""
    flops_per_token: float
    """Training FLOPs per token: 6N + 12 * n_layer * n_embd * block_size (PaLM appendix B)."""
    memory_bytes: int
    """Weights, gradients, optimizer state and activations of one micro-batch."""
    tokens_per_step: int
    tokens_total: int
    seconds_per_step: float | None
    seconds_total: float | None
    """Training steps, evaluations with their samples, and start-up (not corpus preparation)."""
    seconds_evaluating: float | None = None


def mlp_hidden(n_embd: int, mlp: str) -> int:
    """The MLP's default width: 4 x n_embd, or for SwiGLU 2/3 of that rounded up to 64 (the same parameters)."""
    hidden = 4 * n_embd
    return int(2 * hidden / 3 + 63) // 64 * 64 if mlp == "swiglu" else hidden


def padded_vocab(tokenizer_vocab: int) -> int:
    """The model's vocabulary for a tokenizer's when model.vocab_size is 0: above 1024 tokens, padded to a
    multiple of 64, which makes the output matmul faster (pad ids are never targets)."""
    return tokenizer_vocab if tokenizer_vocab <= 1024 else (tokenizer_vocab + 63) // 64 * 64


def parameters(cfg: RunConfig, vocab_size: int) -> tuple[int, int]:
    """(total, compute) parameter counts, equal to the GPT built from this config.

    compute = the parameters used in matmuls: every block, the final norm and the output head.
    """
    m = cfg.model
    C, L = m.n_embd, m.n_layer
    vocab = m.vocab_size or padded_vocab(vocab_size)
    if cfg.arch == "t5":
        return _encoder_decoder_parameters(m, vocab)
    bias = 1 if m.bias else 0
    norm = C * (1 + bias) if m.norm == "layernorm" else C
    hidden = mlp_hidden(C, m.mlp)
    attn = C * 3 * C + 3 * C * bias + C * C + C * bias
    mlp = (3 if m.mlp == "swiglu" else 2) * C * hidden + (hidden * (2 if m.mlp == "swiglu" else 1) + C) * bias
    per_layer = attn + mlp + 2 * norm
    non_embedding = L * per_layer + norm  # the final norm (GPT) or the embedding norm (encoder)
    embedding = vocab * C + (m.block_size * C if m.position == "learned" else 0)
    labels = 2 if m.objective == "span" else len(cfg.task.labels) or 2  # a span head: start and end
    if cfg.arch == "bert":
        embedding += 2 * C  # token types
        non_embedding += norm if m.prenorm else 0  # a pre-norm encoder's final norm
        pooled = C * C + C
        if m.objective in ("tag", "span"):  # a classifier on every token, no pooler
            heads = C * labels + labels
        elif m.objective == "classify":
            heads = pooled + C * labels + labels
        else:
            heads = C * C + C + norm + vocab + (pooled + 2 * C + 2 if cfg.task.nsp else 0)
        non_embedding += heads
    elif m.objective == "tag":
        non_embedding += C * labels + labels
    elif m.objective == "classify":
        non_embedding += C * labels
    if m.objective in ("classify", "tag", "span"):
        return non_embedding + embedding, non_embedding
    head = vocab * C
    total = non_embedding + embedding + (0 if m.tie_weights else head)
    return total, non_embedding + head


def _encoder_decoder_parameters(m, vocab: int, buckets: int = 32) -> tuple[int, int]:
    """T5's layout (engine/model/seq2seq.py): no biases, RMSNorm, a gated MLP, relative position biases in
    each stack's first layer; the decoder's blocks add cross-attention."""
    C, hidden = m.n_embd, mlp_hidden(m.n_embd, "swiglu")
    block = 4 * C * C + 3 * C * hidden + 2 * C
    encoder = (m.n_encoder_layer or m.n_layer) * block + C + buckets * m.n_head
    decoder = m.n_layer * (block + 4 * C * C + C) + C + buckets * m.n_head
    head = vocab * C
    return encoder + decoder + vocab * C + (0 if m.tie_weights else head), encoder + decoder + head


LORA_SHAPES = {"attention": lambda C, h: [(C, 3 * C)], "attention_out": lambda C, h: [(C, C)],
               "mlp_in": lambda C, h: [(C, h)], "mlp_out": lambda C, h: [(h, C)]}


def trainable_parameters(cfg: RunConfig, total: int) -> int:
    """What the optimizer updates: everything, or with LoRA the adapters (r x (in + out) per adapted
    projection) and a classifier's head."""
    f, m = cfg.finetune, cfg.model
    if f.method != "lora":
        return total
    C, hidden = m.n_embd, mlp_hidden(m.n_embd, m.mlp)
    shapes = [s for t in f.lora_targets if t in LORA_SHAPES for s in LORA_SHAPES[t](C, hidden)]
    if "mlp_in" in f.lora_targets and m.mlp == "swiglu":
        shapes.append((C, hidden))  # the gate
    adapters = m.n_layer * sum(f.lora_rank * (i + o) for i, o in shapes)
    if m.objective == "masked":
        return adapters + (C * C + C + 2 * C + 2 if cfg.task.nsp else 0)
    if m.objective not in ("classify", "tag", "span"):
        return adapters
    labels = 2 if m.objective == "span" else len(cfg.task.labels) or 2
    if m.objective in ("tag", "span"):
        return adapters + C * labels + labels
    if cfg.arch == "bert":
        return adapters + C * C + C + C * labels + labels
    return adapters + C * labels


def flops_per_token(cfg: RunConfig, matmul_params: int, vocab: int) -> float:
    """A training step's FLOPs per token: the matmuls forward and backward, and attention. A masked LM's
    head (its dense layer and the vocabulary matrix) reads only the masked positions."""
    m = cfg.model
    flops = 6 * matmul_params + 12 * m.n_layer * m.n_embd * m.block_size
    if cfg.arch == "bert" and m.objective == "masked":
        flops -= 6 * (1 - cfg.task.mask_prob) * (vocab + m.n_embd) * m.n_embd
    return flops


def estimate(cfg: RunConfig, *, vocab_size: int, peak_flops: float | None = None, device_type: str = "cpu",
             world_size: int = 1, measured: dict | None = None) -> Estimate:
    """`measured` (engine/train/calibrate.py: a step, a forward pass and a decoded token timed on the device,
    and the memory they took) replaces the FLOP arithmetic for the times and the formula for the memory."""
    m, t = cfg.model, cfg.train
    total, non_emb = parameters(cfg, vocab_size)
    fpt = flops_per_token(cfg, non_emb, m.vocab_size or padded_vocab(vocab_size))
    tokens_step = t.batch_size * t.grad_accum * m.block_size * world_size
    precision = t.precision if t.precision != "auto" else ("bf16" if device_type == "cuda" else "fp32")
    weights = total * 4
    grads = total * 4
    optim = total * {"adamw": 8, "adam": 8, "lamb": 8, "sgd": 4, "adagrad": 4, "adafactor": 4}.get(t.optimizer, 8)
    # activations kept for backward, per layer (Korthikanti et al. 2022, without recomputation):
    # ~34*T*C bytes-ish per sequence in 16-bit + 5*nh*T^2 for attention scores (none with flash)
    act_bytes = BYTES.get(precision, 4)
    per_seq = m.n_layer * m.block_size * m.n_embd * 17 * act_bytes
    vocab = m.vocab_size or vocab_size
    memory = weights + grads + optim + per_seq * t.batch_size + logit_memory(cfg, vocab)
    seconds = evaluating = total_s = None
    if peak_flops:
        eff = DEFAULT_EFFICIENCY.get(device_type, 0.35)
        per_layer, fixed = STEP_OVERHEAD_S.get(device_type, STEP_OVERHEAD_S["cpu"])
        overhead = per_layer * m.n_layer + fixed
        seconds = fpt * tokens_step / world_size / (peak_flops * eff) + overhead * t.grad_accum
        if device_type == "cpu" and precision == "fp8":
            seconds *= CPU_FP8_SLOWDOWN
        micro = (seconds / t.grad_accum - overhead) / 3 + overhead / 3  # a forward pass is a third of a step
        evals = t.max_steps // max(1, t.eval_interval) + 1
        samples = len(t.sample_prompts) * t.sample_tokens * overhead / 3 if t.sample_interval >= 0 else 0.0
        evaluating = evals * (eval_passes(cfg) * t.eval_batches * micro + samples)
        total_s = seconds * t.max_steps + evaluating + START_S
    if measured:
        seconds = measured["step_s"]
        evals = t.max_steps // max(1, t.eval_interval) + 1
        sampled = t.max_steps // (t.sample_interval or t.eval_interval) + 1 if t.sample_interval >= 0 else 0
        evaluating = (evals * eval_passes(cfg) * t.eval_batches * measured["forward_s"]
                      + sampled * len(t.sample_prompts) * t.sample_tokens * measured["token_s"])
        warm_up = max(0.0, measured.get("first_step_s", seconds) - seconds)
        total_s = seconds * t.max_steps + evaluating + warm_up + START_S
        memory = measured.get("memory_bytes") or memory
    if total_s is not None:  # checkpoints: the weights and the optimizer's state, written at each
        saves = t.max_steps // max(1, t.checkpoint_interval or t.eval_interval) + 1
        total_s += saves * (weights + optim) / DISK_BYTES_PER_S
    return Estimate(params=total, matmul_params=non_emb, flops_per_token=fpt, memory_bytes=int(memory),
                    tokens_per_step=tokens_step, tokens_total=tokens_step * t.max_steps, seconds_per_step=seconds,
                    seconds_total=total_s, seconds_evaluating=evaluating)


CALIBRATION_FILE = "calibration.json"


def logit_memory(cfg: RunConfig, vocab: int) -> int:
    """The training step's bytes for the output layer: all the fp32 logits and their gradient (a masked LM's
    at its masked positions), or, once they are big (a causal LM), one slice and its softmax beside the
    stored gradients of the input and the head. An encoder-decoder's logits are its target's."""
    m, t = cfg.model, cfg.train
    rows = t.batch_size * (m.target_block_size or m.block_size if cfg.arch == "t5" else m.block_size)
    sliced = m.objective == "causal" and cfg.arch == "gpt" or cfg.arch == "t5"
    if sliced and rows * vocab * 4 >= MIN_LOGIT_BYTES:
        return 2 * SLICE_LOGIT_BYTES + rows * m.n_embd * 4 + vocab * m.n_embd * 4
    if m.objective == "masked" and cfg.arch == "bert":
        rows = int(rows * cfg.task.mask_prob)  # the head reads the masked positions only
    return rows * vocab * 4 * 2


def calibration_key(cfg: RunConfig, vocab_size: int, device: str) -> str:
    """What a measured step depends on: the device, its threads, the shape and the step's settings."""
    m, t = cfg.model, cfg.train
    shape = (cfg.arch, m.objective, m.n_layer, m.n_encoder_layer, m.n_head, m.n_embd, m.block_size,
             m.target_block_size, m.position, m.norm, m.mlp, m.tie_weights, m.vocab_size or vocab_size, t.batch_size,
             t.grad_accum, t.optimizer, t.precision)
    return f"{device}|{t.threads or os.cpu_count()}|{'|'.join(map(str, shape))}"


def known_calibration(cfg: RunConfig, vocab_size: int, device: str, cache_dir) -> dict | None:
    """A measurement made before for this device and shape (engine/train/calibrate.py), or None."""
    try:
        known = json.loads((Path(cache_dir) / CALIBRATION_FILE).read_text())
    except (OSError, ValueError):
        return None
    return known.get(calibration_key(cfg, vocab_size, device))


UNDER_LOAD = "under_load"
"""A measurement's mark: a run trained on the machine while it was taken, so its times are slower than the shape's."""


def note_calibration_load(key: str, cache_dir, under_load: bool) -> None:
    """Keep with the measurement of `key` whether it was taken under load, so it says so whenever it is read."""
    path = Path(cache_dir) / CALIBRATION_FILE
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if isinstance(known.get(key), dict):
        known[key][UNDER_LOAD] = under_load
        write_atomic(path, json.dumps(known, indent=1))


def eval_passes(cfg: RunConfig) -> int:
    """Splits an evaluation runs forward passes over: validation, and the training rows where train metrics
    are reported (a causal LM's train loss is its steps' own)."""
    return 1 if cfg.model.objective == "causal" else 2


def auto_batch_size(cfg: RunConfig, vocab_size: int, budget_bytes: float, *, cap: int = 64) -> int:
    """The largest power-of-two micro-batch (up to `cap`) whose estimated memory fits the budget."""
    trial = cfg.copy()
    best = 1
    b = 1
    while b <= cap:
        trial.train.batch_size = b
        if estimate(trial, vocab_size=vocab_size).memory_bytes > budget_bytes:
            break
        best = b
        b *= 2
    return best
