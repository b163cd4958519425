"""Fully sharded data parallel (FSDP2) for models too big for one GPU, and full-state checkpoints.

With `train.parallel = "fsdp"` each block and then the whole model is sharded across the processes:
parameters, gradients and optimizer state live split, and are gathered layer by layer when used.
Checkpoints stay the same self-contained files whatever the parallelism: the full state is gathered
on rank 0 (a collective every rank joins), so a run resumes on any number of processes, sharded or not.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

from engine.model import checkpoint as ckpt
from engine.model.lora import trainable_tensors
from engine.train.optim import join_state, load_optimizer_state, optimizer_state_tensors, split_state

_meshes: list = []  # the device meshes this process sharded over (released at shutdown)


def shard(model: nn.Module) -> None:
    import torch.distributed as dist  # fsdp takes ~0.7 s to import: only a sharded run pays it
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    device = next(model.parameters()).device
    mesh = init_device_mesh(device.type, (dist.get_world_size(),))
    _meshes.append(mesh)
    for block in model.h:
        fully_shard(block, mesh=mesh)
    fully_shard(model, mesh=mesh)


@contextmanager
def whole_root(model: nn.Module):
    """Gather the root's own weights (embeddings, heads) for code that calls its parts directly rather
    than through forward(); a no-op for a model that is not sharded."""
    if not hasattr(model, "unshard"):
        yield
        return
    model.unshard()
    try:
        yield
    finally:
        model.reshard()


def settle(model: nn.Module) -> None:
    """After a forward pass without backward (evaluation, sampling) the root stays gathered: shard it
    again, so memory is freed and the optimizer and state dicts see the sharded parameters."""
    if hasattr(model, "reshard"):
        model.reshard()


def release_meshes() -> None:
    """A device mesh holds its process groups, and DTensor's caches (some in C++) hold every mesh they
    met: the meshes let go of their groups here, so the groups can be freed at shutdown."""
    for mesh in _meshes:
        getattr(mesh, "_pg_registry", {}).clear()
    _meshes.clear()


def _options():
    from torch.distributed.checkpoint.state_dict import StateDictOptions  # heavy: FSDP only

    return StateDictOptions(full_state_dict=True, cpu_offload=True)


def model_state(model: nn.Module, sharded: bool, *, trainable_only: bool = False) -> dict[str, torch.Tensor]:
    """The full weights (on rank 0 when sharded: every rank must call this)."""
    if not sharded:
        if trainable_only:
            return trainable_tensors(model)
        return ckpt.model_tensors(model)
    from torch.distributed.checkpoint.state_dict import get_model_state_dict  # heavy: FSDP only

    full = get_model_state_dict(model, options=_options())
    return ckpt.model_tensors_from(full, tied=_tied_names(model))


def optimizer_state(model: nn.Module, optimizer, sharded: bool) -> tuple[dict[str, torch.Tensor], dict]:
    """The optimizer state as tensors + JSON, numbered by parameter position as a plain optimizer's is."""
    if not sharded:
        return optimizer_state_tensors(optimizer)
    from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict  # heavy: FSDP only

    settle(model)
    full = get_optimizer_state_dict(model, optimizer, options=_options())
    if not full:  # ranks other than 0 get nothing back
        return {}, {}
    order = [name for group in full["param_groups"] for name in group["params"]]
    index = {name: i for i, name in enumerate(order)}
    plain = {"state": {index[name]: state for name, state in full["state"].items()},
             "param_groups": [{**g, "params": [index[n] for n in g["params"]]} for g in full["param_groups"]]}
    return split_state(plain)


def load_model(model: nn.Module, path, sharded: bool, *, partial: bool = False) -> None:
    if not sharded:
        ckpt.load_model_weights(model, path, partial=partial)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict  # heavy: FSDP only

    tensors = ckpt.load_tensors(path / ckpt.MODEL_FILE)
    for name in _tied_names(model):
        tensors.pop(name, None)
    set_model_state_dict(model, tensors, options=StateDictOptions(full_state_dict=True, strict=not partial))


def load_optimizer(model: nn.Module, optimizer, tensors: dict, meta: dict, sharded: bool) -> None:
    if not sharded:
        load_optimizer_state(optimizer, tensors, meta)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict  # heavy: FSDP only

    names = {id(p): n for n, p in model.named_parameters()}
    order = [names[id(p)] for g in optimizer.param_groups for p in g["params"]]
    sd = join_state(tensors, meta)
    full = {"state": {order[int(i)]: s for i, s in sd["state"].items()},
            "param_groups": [{**g, "params": [order[i] for i in g["params"]]} for g in sd["param_groups"]]}
    set_optimizer_state_dict(model, optimizer, full, options=StateDictOptions(full_state_dict=True))


def _tied_names(model: nn.Module) -> set[str]:
    return {"lm_head.weight", "mlm_decoder.weight"} if model.config.tie_weights else set()
