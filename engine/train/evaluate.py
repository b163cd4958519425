"""A checkpoint measured on its run's validation data, by the same task code the trainer evaluates with, so
`eval` reports each objective's own metrics: loss and perplexity (causal), masked-token accuracy (masked,
with next-sentence accuracy), accuracy and macro-F1 over every validation example (classify), token
accuracy and the generated targets' BLEU, chrF, ROUGE-L and exact match (seq2seq, instruct), SQuAD's exact match
and F1 over every validation question (span)."""

from __future__ import annotations

from engine.config.schema import PAIR_OBJECTIVES, RunConfig
from engine.core.errors import UserError
from engine.train.make_task import make_task
from engine.train.task_context import TaskContext


def evaluate_checkpoint(cfg: RunConfig, model, tokenizer, *, batches: int, device: str = "cpu",
                        split: str = "validation") -> dict:
    """The task's metrics of `model` on the validation or test split over `batches` batches (a classifier's
    whole split, a pair run's whole test split); a fine-tune's corpus is encoded with the run's own tokenizer,
    as in training. A run that holds out no test split is refused in words."""
    cfg.train.eval_batches = batches
    cfg.train.auto_batch_size = False
    ctx = TaskContext.single_process(cfg, model.config.arch, device)
    # a fine-tune's, a pair run's (trained on both sides, with its start and end tokens), a tagger's (on sentences),
    # a question answerer's (on contexts and questions)
    own = cfg.finetune.source or cfg.model.objective in (*PAIR_OBJECTIVES, "tag", "span")
    task = make_task(ctx, tokenizer if own else None)
    if split == "test" and not task.has_test():
        raise UserError(f"this run has no test split (data.test_fraction = {cfg.data.test_fraction} holds out no "
                        f"rows): score --split validation, or train with a larger data.test_fraction")
    model.eval()
    return task.evaluate(model, "test" if split == "test" else "val")
