"""What a task is given by whoever runs it: the trainer, or `eval` measuring a checkpoint without one.

A task reads its config, device and processes, moves its batches and sets their precision, reports through the
events and has its corpus prepared, all through this context and never through its owner; preparing a task
(engine/train/make_task.py) returns what it made, and the owner reads the tokenizer and corpus from the task."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np
import torch

from engine.config.schema import RunConfig
from engine.data.encode import CorpusStats, PreparedCorpus, prepare_corpus
from engine.data.tokenizer import Tokenizer
from engine.run.events import EventWriter
from engine.runtime import distributed as ddp
from engine.runtime.distributed import DistInfo

CorpusPreparer = Callable[[Tokenizer | None], PreparedCorpus]
"""The run's corpus encoded with a tokenizer (None: the [tokenizer] section's, trained or loaded)."""
BudgetChooser = Callable[[int, CorpusStats | None], None]
"""A time budget's choices made on the config, given the vocabulary's size and the token stream's statistics
(None: no stream, or a task built already, whose shape stays)."""


@dataclass
class TaskContext:
    cfg: RunConfig
    arch: str
    """The model's architecture: a fine-tune's source's, else the config's."""
    device: torch.device
    dist: DistInfo
    events: EventWriter
    prepare_corpus: CorpusPreparer
    to_device: Callable[[dict[str, np.ndarray]], dict[str, torch.Tensor]]
    autocast: Callable[[], AbstractContextManager]
    choose_budget: BudgetChooser | None = None
    """A trainer's time budget (engine/train/time_budget.py); None where a checkpoint is measured."""

    @classmethod
    def single_process(cls, cfg: RunConfig, arch: str, device: str | torch.device = "cpu") -> TaskContext:
        """One process in full precision, with no event file and no budget: a checkpoint measured by `eval`."""
        device = torch.device(device)
        return cls(cfg, arch, device, DistInfo(), EventWriter(None),
                   prepare_corpus=lambda tokenizer: prepare_corpus(cfg, tokenizer=tokenizer),
                   to_device=lambda batch: batch_to_device(batch, device), autocast=nullcontext)


def batch_to_device(batch: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    """A batch's arrays as tensors on `device`; to a GPU through pinned memory, without waiting."""
    out = {k: torch.from_numpy(v) for k, v in batch.items()}
    if device.type == "cuda":
        return {k: v.pin_memory().to(device, non_blocking=True) for k, v in out.items()}
    return {k: v.to(device) for k, v in out.items()}


def shared_corpus(cfg: RunConfig, dist: DistInfo, events: EventWriter,
                  given: PreparedCorpus | None = None) -> CorpusPreparer:
    """The corpus as a run's processes prepare it: rank 0 encodes, reporting each stage as an event, while the
    others wait and then read its cache; `given` is used as it is (benchmarks feed synthetic tokens this way)."""
    def prepare(tokenizer: Tokenizer | None) -> PreparedCorpus:
        if given is not None:
            return given
        if dist.is_main:
            corpus = prepare_corpus(cfg, tokenizer=tokenizer, progress=lambda stage, msg: events.emit(
                "prepare", stage=stage, message=msg))
            ddp.barrier(dist)
            return corpus
        ddp.barrier(dist)
        return prepare_corpus(cfg, tokenizer=tokenizer)

    return prepare
