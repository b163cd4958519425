"""fp8 training: the blocks' matrix multiplies in 8-bit floats (torchao's Float8Linear), the rest in bf16.

Each linear layer of the blocks casts its input and weight to e4m3 and the incoming gradient to e5m2,
each with one scale per tensor chosen from its largest value, and multiplies on the fp8 tensor cores,
whose peak is twice bf16's on an H100/H200 (the subject's quantized training, to cut the cost of a run;
what a whole step gains is for bench/gpu.py to measure).
The output head and classifier stay in bf16 (the loss is sensitive there), and so do layers whose sizes
are not multiples of 16, which the fp8 kernels need. Parameters, gradients and optimizer states stay
fp32, and the checkpoint is the same as a bf16 run's. On a CPU torch emulates the fp8 multiplies: slower
than fp32, the same numbers, so a run there shows what fp8 does to the loss. Where it cannot run (no
torchao, a GPU without fp8 tensor cores) it is refused in words: engine/config/rules.py.
"""

from __future__ import annotations

import logging

import torch
import torch.nn as nn

from engine.core.errors import UserError

HEADS = ("lm_head", "classifier", "nsp_head", "mlm_decoder")


def convertible(module: nn.Module, name: str) -> bool:
    return (type(module) is nn.Linear and name.rsplit(".", 1)[-1] not in HEADS
            and module.in_features % 16 == 0 and module.out_features % 16 == 0)


def apply(model: nn.Module, precision: str) -> nn.Module:
    """`model` with its blocks' linear layers in fp8 when `precision` is "fp8"; unchanged otherwise."""
    if precision != "fp8":
        return model
    for quiet in ("torchao", "torch.utils._pytree"):  # its optional kernels for other cards, said at import
        logging.getLogger(quiet).setLevel(logging.ERROR)
    try:
        from torchao.float8 import convert_to_float8_training  # optional: the fp8 extra
    except Exception as e:  # a torchao built for another torch fails as it loads
        raise UserError(f"torchao does not load with torch {torch.__version__} ({type(e).__name__}: "
                        f"{str(e)[:200]}): install the torchao release made for this torch") from None
    return convert_to_float8_training(model, module_filter_fn=convertible)
