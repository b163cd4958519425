"""The run's task, chosen by its objective: a language model's (causal, masked), a classifier's, a tagger's, a
question answerer's, or a pair objective's (seq2seq, instruct). Apart from the tasks, so that the pair tasks can
build on tasks.py."""

from __future__ import annotations

from engine.config.schema import PAIR_OBJECTIVES
from engine.data.chat_prepare import is_chat_corpus
from engine.data.encode import CorpusStats, cache_root
from engine.data.span_examples import read_span_examples
from engine.data.span_windows import span_tokenizer
from engine.data.tagged import read_tagged, tag_tokenizer
from engine.data.tokenizer import Tokenizer
from engine.train.chat_task import ChatTask
from engine.train.pair_tasks import make_pair_task
from engine.train.span_task import SpanTask
from engine.train.tag_task import TagTask
from engine.train.task_context import TaskContext
from engine.train.tasks import CausalTask, ClassifyTask, MaskedTask, Task, resolve_auto_batch


def make_task(ctx: TaskContext, tokenizer: Tokenizer | None = None) -> Task:
    """The run's task with its data ready; `tokenizer` (a fine-tune's) replaces the [tokenizer] section.

    The task holds the tokenizer it was built with, and a language model's token stream as `corpus`; a time
    budget's choices (ctx.choose_budget) are made once the corpus is known, then the micro-batch is fitted."""
    objective = ctx.cfg.model.objective
    if objective in PAIR_OBJECTIVES:  # instruct on conversations, or on pairs (a one-turn conversation each)
        task = ChatTask(ctx, tokenizer) if is_chat_corpus(ctx.cfg) else make_pair_task(ctx, tokenizer)
        resolve_auto_batch(ctx, task.tokenizer.vocab_size)
        _budget(ctx, task.tokenizer, None)  # built already: a budget chooses the schedule, not the shape
        return task
    if objective == "tag":  # tagged sentences; the tokenizer learns their words, never their tags
        sentences = read_tagged(ctx.cfg.data.path, ctx.cfg.data.encoding)
        tokenizer = tokenizer or tag_tokenizer(ctx.cfg, sentences, lambda stage, msg: ctx.events.emit(
            "prepare", stage=stage, message=msg))
        _budget(ctx, tokenizer, None)
        resolve_auto_batch(ctx, tokenizer.vocab_size)
        return TagTask(ctx, tokenizer, sentences)
    if objective == "span":  # questions on contexts; the tokenizer learns both, never the answers' places
        examples = read_span_examples(ctx.cfg.data.path)
        tokenizer = tokenizer or span_tokenizer(ctx.cfg, examples, lambda stage, msg: ctx.events.emit(
            "prepare", stage=stage, message=msg))
        _budget(ctx, tokenizer, None)
        resolve_auto_batch(ctx, tokenizer.vocab_size)
        return SpanTask(ctx, tokenizer, examples)
    if objective == "classify":
        tokenizer = tokenizer or ctx.prepare_corpus(None).tokenizer
        _budget(ctx, tokenizer, None)
        resolve_auto_batch(ctx, tokenizer.vocab_size)
        return ClassifyTask(ctx, tokenizer, cache_root(ctx.cfg))
    corpus = ctx.prepare_corpus(tokenizer)
    _budget(ctx, corpus.tokenizer, corpus.stats)  # the shape among its choices: before the batch is fitted
    resolve_auto_batch(ctx, corpus.tokenizer.vocab_size)
    return (MaskedTask if objective == "masked" else CausalTask)(ctx, corpus)


def _budget(ctx: TaskContext, tokenizer: Tokenizer, corpus: CorpusStats | None) -> None:
    """A time budget's choices: a trainer makes them; measuring a checkpoint does not."""
    if ctx.choose_budget is not None:
        ctx.choose_budget(tokenizer.vocab_size, corpus)
