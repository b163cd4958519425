"""Running a model without gradients: in inference mode, the fastest, where the model allows it.

Inference mode forbids what some forwards do: a sharded model gathers its weights into tensors that
training reuses, and fp8 layers (engine/runtime/fp8.py) cast under autocast through a tensor subclass
that inference tensors cannot enter. Those run under no_grad.
"""

from __future__ import annotations

import torch


def needs_no_grad(model: torch.nn.Module) -> bool:
    return hasattr(model, "reshard") or any(type(m).__name__ == "Float8Linear" for m in model.modules())


def grad_free(model: torch.nn.Module):
    """The context that runs `model` without gradients: inference mode, or no_grad where it must."""
    return torch.no_grad() if needs_no_grad(model) else torch.inference_mode()
