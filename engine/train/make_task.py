"""The run's task, chosen by its objective: a language model's (causal, masked), a classifier's, or a
pair objective's (seq2seq, instruct). Apart from the tasks, so that the pair tasks can build on tasks.py."""

from __future__ import annotations

from engine.config.schema import PAIR_OBJECTIVES
from engine.data.encode import cache_root
from engine.train.pair_tasks import make_pair_task
from engine.train.tasks import CausalTask, ClassifyTask, MaskedTask, Task, resolve_auto_batch


def make_task(trainer, tokenizer=None) -> Task:
    """The run's task with its data ready; `tokenizer` (a fine-tune's) replaces the [tokenizer] section.

    Sets `trainer.tokenizer`, and `trainer.corpus` for language models (a token stream); applies a time budget's
    choices (engine/train/time_budget.py) once the corpus is known."""
    objective = trainer.cfg.model.objective
    trainer.corpus = None
    if objective in PAIR_OBJECTIVES:
        task = make_pair_task(trainer, tokenizer)
        _budget(trainer, keep_shape=True)  # built already: a budget chooses the schedule, not the shape
        return task
    if objective == "classify":
        trainer.tokenizer = tokenizer or trainer._prepare_corpus(None).tokenizer
        _budget(trainer)
        resolve_auto_batch(trainer)
        return ClassifyTask(trainer, cache_root(trainer.cfg))
    trainer.corpus = trainer._prepare_corpus(tokenizer)
    trainer.tokenizer = trainer.corpus.tokenizer
    _budget(trainer)  # the shape among its choices: before the batch is fitted and the task built
    resolve_auto_batch(trainer)
    return (MaskedTask if objective == "masked" else CausalTask)(trainer, trainer.corpus)


def _budget(trainer, *, keep_shape: bool = False) -> None:
    """A time budget's choices (engine/train/time_budget.py): a Trainer makes them; evaluating a checkpoint does not."""
    if hasattr(trainer, "resolve_budget"):
        trainer.resolve_budget(keep_shape=keep_shape)
