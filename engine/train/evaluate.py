"""A checkpoint measured on its run's validation data, by the same task code the trainer evaluates with, so
`eval` reports each objective's own metrics: loss and perplexity (causal), masked-token accuracy (masked,
with next-sentence accuracy), accuracy and macro-F1 over every validation example (classify), token
accuracy and the generated targets' BLEU, chrF, ROUGE-L and exact match (seq2seq, instruct)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch

from engine.config.schema import PAIR_OBJECTIVES, RunConfig
from engine.core.errors import UserError
from engine.data.encode import prepare_corpus
from engine.run.events import EventWriter
from engine.runtime.distributed import DistInfo
from engine.train.make_task import make_task


@dataclass
class _Host:
    """What a task reads from the trainer that owns it: one process, full precision, no event file."""
    cfg: RunConfig
    arch: str
    device: torch.device
    dist: DistInfo
    events: EventWriter
    tokenizer: object = None
    corpus: object = None

    def _prepare_corpus(self, tokenizer):
        return prepare_corpus(self.cfg, tokenizer=tokenizer)

    def to_device(self, batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {k: torch.from_numpy(v).to(self.device) for k, v in batch.items()}

    def autocast(self):
        return contextlib.nullcontext()


def evaluate_checkpoint(cfg: RunConfig, model, tokenizer, *, batches: int, device: str = "cpu",
                        split: str = "validation") -> dict:
    """The task's metrics of `model` on the validation or test split over `batches` batches (a classifier's
    whole split, a pair run's whole test split); a fine-tune's corpus is encoded with the run's own tokenizer,
    as in training. A run that holds out no test split is refused in words."""
    cfg.train.eval_batches = batches
    cfg.train.auto_batch_size = False
    host = _Host(cfg, model.config.arch, torch.device(device), DistInfo(), EventWriter(None))
    # a fine-tune's, or a pair run's (trained on both sides, with its start and end tokens)
    own = cfg.finetune.source or cfg.model.objective in PAIR_OBJECTIVES
    task = make_task(host, tokenizer if own else None)
    if split == "test" and not task.has_test():
        raise UserError(f"this run has no test split (data.test_fraction = {cfg.data.test_fraction} holds out no "
                        f"rows): score --split validation, or train with a larger data.test_fraction")
    model.eval()
    return task.evaluate(model, "test" if split == "test" else "val")
