"""The run's task, chosen by its objective: a language model's (causal, masked), a classifier's, or a
pair objective's (seq2seq, instruct). Apart from the tasks, so that the pair tasks can build on tasks.py."""

from __future__ import annotations

from engine.config.schema import PAIR_OBJECTIVES
from engine.data.encode import cache_root
from engine.train.pair_tasks import make_pair_task
from engine.train.tasks import CausalTask, ClassifyTask, MaskedTask, Task, resolve_auto_batch


def make_task(trainer, tokenizer=None) -> Task:
    """The run's task with its data ready; `tokenizer` (a fine-tune's) replaces the [tokenizer] section.

    Sets `trainer.tokenizer`, and `trainer.corpus` for language models (a token stream)."""
    objective = trainer.cfg.model.objective
    trainer.corpus = None
    if objective in PAIR_OBJECTIVES:
        return make_pair_task(trainer, tokenizer)
    if objective == "classify":
        trainer.tokenizer = tokenizer or trainer._prepare_corpus(None).tokenizer
        resolve_auto_batch(trainer)
        return ClassifyTask(trainer, cache_root(trainer.cfg))
    trainer.corpus = trainer._prepare_corpus(tokenizer)
    trainer.tokenizer = trainer.corpus.tokenizer
    resolve_auto_batch(trainer)
    return (MaskedTask if objective == "masked" else CausalTask)(trainer, trainer.corpus)
