"""Token classification (named entities), `model.objective = "tag"`: every word gets a tag on its first piece.

The data are tagged sentences (engine/data/tagged.py) split like a classifier's rows, so the splits, evaluation
batches and probe text are the classifier's. Evaluation reports the loss over the labelled pieces, the words'
tag accuracy and confusion, and entity-level precision, recall and F1 overall and per type as seqeval counts
them (engine/data/entity_metrics.py): counts of true, predicted and correct entities are summed over batches
and processes, then scored.
"""

from __future__ import annotations

import numpy as np
import torch

from engine.data.entity_metrics import entity_counts, entity_scores
from engine.data.labelled import ExampleSampler, framing_ids
from engine.data.masked import IGNORE
from engine.data.tagged import Sentence, entity_types, load_tagged
from engine.data.tokenizer import Tokenizer
from engine.infer.tagging import marked_text
from engine.train.task_context import TaskContext
from engine.train.tasks import ClassifyTask, Task


class TagTask(ClassifyTask):
    name = "tag"
    metric_names = ("accuracy", "entity_f1")

    def __init__(self, ctx: TaskContext, tokenizer: Tokenizer, sentences: list[Sentence]):
        Task.__init__(self, ctx)
        self.tokenizer = tok = tokenizer
        encoder = ctx.arch == "bert"
        self.data = load_tagged(ctx.cfg, tok, sentences, encoder=encoder, **framing_ids(tok, encoder=encoder))
        self.labels = self.data.tag_names
        self.types = entity_types(self.labels)
        self.sampler = ExampleSampler(self.data.train, self.tr.batch_size, seed=self.tr.seed, **self.rank_args())
        train = self.data.train
        self.warn_unknown_tokens(train.idx[np.arange(train.idx.shape[1])[None, :] < train.lengths[:, None]])
        self.tokens_per_row = int(train.lengths.mean())
        if self.data.truncated:
            ctx.events.emit("warning", kind="truncated", message=(
                f"{self.data.truncated} sentence(s) are longer than model.block_size: their last words are not seen"))

    def stats(self):
        d = self.data
        return {"documents": d.sentences, "labels": self.labels, "train_examples": len(d.train),
                "val_examples": len(d.val), "test_examples": len(d.test), "truncated": d.truncated,
                "vocab_size": self.tokenizer.vocab_size}

    def n_sums(self):
        return 2 + len(self.labels) ** 2 + 3 * len(self.types)

    def batch_sums(self, model, batch):
        """The summed loss and count of labelled pieces, the words' tag confusion, and entity counts."""
        logits, loss = model(**batch)
        targets, guess = batch["targets"], logits.argmax(-1)
        labelled = targets != IGNORE
        n = labelled.sum().float()
        k = len(self.labels)
        confusion = torch.bincount(targets[labelled] * k + guess[labelled], minlength=k * k).float()
        counts = entity_counts(*self._word_tags(targets, guess), self.types)
        return torch.cat([torch.stack([loss.float() * n, n]), confusion,
                          torch.as_tensor(counts.reshape(-1), dtype=torch.float32, device=n.device)])

    def _word_tags(self, targets: torch.Tensor, guess: torch.Tensor) -> tuple[list[list[str]], list[list[str]]]:
        """Each row's true and predicted tags, one a word (its first piece's)."""
        true, predicted = [], []
        for t_row, g_row in zip(targets.cpu().numpy(), guess.cpu().numpy()):
            at = t_row != IGNORE
            true.append([self.labels[i] for i in t_row[at]])
            predicted.append([self.labels[i] for i in g_row[at]])
        return true, predicted

    def summarize(self, s):
        k = len(self.labels)
        confusion = s[2:2 + k * k].reshape(k, k).astype(np.int64)
        words = max(int(confusion.sum()), 1)
        return {"loss": s[0] / max(s[1], 1), "accuracy": float(np.trace(confusion)) / words,
                "confusion": confusion.tolist(), **entity_scores(s[2 + k * k:], self.types)}

    def samples(self, model):
        """The first validation sentences with the entities the model finds, and whether they are all right."""
        n = min(5, len(self.data.val))
        batch = self.ctx.to_device(self.data.val.take(np.arange(n)))
        model.eval()
        with torch.no_grad():
            guess = model(**batch)[0].argmax(-1)
        model.train()
        true, predicted = self._word_tags(batch["targets"], guess)
        out = []
        for sentence, t_tags, p_tags in zip(self.data.val_sentences[:n], true, predicted):
            words = sentence.words[: len(p_tags)]
            mark = "✓" if p_tags == t_tags else f"✗ true: {marked_text(words, t_tags)}"
            out.append((" ".join(words)[:200], f"\n  {marked_text(words, p_tags)}\n  {mark}"))
        return out
