"""Optimizers by name, and their state as plain tensors + JSON (safetensors, never pickle)."""

from __future__ import annotations

import torch

from engine.config.schema import TrainConfig
from engine.model.gpt import GPT
from engine.train.lamb import Lamb
from engine.train.muon import Muon, muon_groups


def make_optimizer(model: GPT, cfg: TrainConfig, device_type: str) -> torch.optim.Optimizer:
    groups = model.param_groups(cfg.weight_decay)
    if cfg.optimizer == "adamw":
        # the fused kernel is one op per step instead of a dozen per parameter (CPU and CUDA)
        fused = device_type in ("cuda", "cpu")
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), fused=fused)
    if cfg.optimizer == "adam":  # weight decay as L2 in the gradient (torch's Adam), matrices only
        return torch.optim.Adam(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum)
    if cfg.optimizer == "adagrad":
        return torch.optim.Adagrad(groups, lr=cfg.lr)
    if cfg.optimizer == "lamb":
        return Lamb(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    if cfg.optimizer == "adafactor":
        return torch.optim.Adafactor(groups, lr=cfg.lr)
    if cfg.optimizer == "muon":
        return Muon(muon_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}")


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def optimizer_state_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    return split_state(optimizer.state_dict())


def load_optimizer_state(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict) -> None:
    optimizer.load_state_dict(join_state(tensors, meta))


def split_state(sd: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """An optimizer state dict (parameters numbered) as named tensors and the JSON-able rest."""
    tensors: dict[str, torch.Tensor] = {}
    plain_state: dict[str, dict] = {}
    for pid, state in sd["state"].items():
        plain_state[str(pid)] = {}
        for name, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{pid}.{name}"] = value.detach().cpu().contiguous()
            else:
                plain_state[str(pid)][name] = value
    groups = [{k: v for k, v in g.items()} for g in sd["param_groups"]]
    return tensors, {"state": plain_state, "param_groups": groups}


def join_state(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    """The inverse of split_state."""
    state: dict[int, dict] = {int(pid): dict(values) for pid, values in meta["state"].items()}
    for key, value in tensors.items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = value
    for group in meta["param_groups"]:
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
    return {"state": state, "param_groups": meta["param_groups"]}
