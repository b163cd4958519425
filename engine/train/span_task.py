"""Extractive question answering, `model.objective = "span"`: an encoder points at each answer's first and last token.

The data are questions on contexts (engine/data/span_examples.py) cut into windows (engine/data/span_windows.py)
and trained as a classifier's rows are sampled; the loss is the mean of the start and the end cross-entropy.
Evaluation runs every window of each question, picks the answer as transformers' pipeline does
(engine/data/span_decode.py) and scores it by SQuAD's exact match and F1 (engine/data/span_metrics.py); the
windows of a question always share an evaluation batch, and the sums add up over batches and processes.
"""

from __future__ import annotations

import numpy as np
import torch

from engine.data.labelled import ExampleSampler, framing_ids
from engine.data.span_decode import best_span, span_chars
from engine.data.span_examples import SpanExample
from engine.data.span_metrics import best_scores
from engine.data.span_windows import SpanSplit, load_spans
from engine.data.tokenizer import Tokenizer
from engine.train.task_context import TaskContext
from engine.train.tasks import ClassifyTask, Task

HEAD = ["start", "end"]
"""The head's two outputs at every token, as transformers' qa_outputs orders them."""


class SpanTask(ClassifyTask):
    name = "span"
    metric_names = ("exact_match", "f1")
    evaluating = "val"

    def __init__(self, ctx: TaskContext, tokenizer: Tokenizer, examples: list[SpanExample]):
        Task.__init__(self, ctx)
        self.tokenizer = tok = tokenizer
        self.data = load_spans(ctx.cfg, tok, examples, pad_id=framing_ids(tok, encoder=True)["pad_id"])
        self.labels = list(HEAD)
        self.sampler = ExampleSampler(self.data.train, self.tr.batch_size, seed=self.tr.seed, **self.rank_args())
        train = self.data.train
        self.warn_unknown_tokens(train.idx[np.arange(train.idx.shape[1])[None, :] < train.lengths[:, None]])
        self.tokens_per_row = int(train.lengths.mean())
        if self.data.cut:
            ctx.events.emit("warning", kind="truncated", message=(
                f"{self.data.cut} answer(s) lie in no window whole (longer than the windows' overlap, "
                f"task.doc_stride): those questions teach no answer"))

    def _split(self, which: str) -> tuple[SpanSplit, list[SpanExample]]:
        d = self.data
        return {"val": (d.val, d.val_examples), "train": (d.train, d.train_examples),
                "test": (d.test, d.test_examples)}[which]

    def stats(self):
        d = self.data
        return {"documents": d.questions, "labels": self.labels, "train_examples": len(d.train_examples),
                "val_examples": len(d.val_examples), "test_examples": len(d.test_examples),
                "unanswerable": d.unanswerable, "windows": len(d.train) + len(d.val) + len(d.test),
                "truncated": d.cut, "vocab_size": self.tokenizer.vocab_size}

    def has_test(self) -> bool:
        return len(self.data.test) > 0

    def eval_batches(self, which):
        """Batches of whole questions (all their windows, about batch_size windows a batch): every validation and
        test question, and the training questions of the first eval_batches batches' windows. Each batch also names
        its rows of the split ("window"), which batch_sums takes out before the model reads the batch."""
        split, _ = self._split(which)
        if not len(split):
            return []
        last = min(self.tr.eval_batches * self.tr.batch_size, len(split)) if which == "train" else len(split)
        questions = int(split.example[last - 1]) + 1
        firsts = np.searchsorted(split.example, np.arange(questions + 1))  # each question's first window
        batches, start = [], 0
        for q in range(1, questions + 1):
            if firsts[q] - firsts[start] >= self.tr.batch_size or q == questions:
                rows = np.arange(firsts[start], firsts[q])
                batches.append({**split.take(rows), "window": rows})
                start = q
        return batches

    def n_sums(self):
        return 5

    def evaluate(self, model, which: str) -> dict:
        self.evaluating = which  # the split whose questions batch_sums scores
        return super().evaluate(model, which)

    def batch_sums(self, model, batch):
        """The summed loss and count of windows, and the summed exact match and F1 and count of questions."""
        rows = batch.pop("window").cpu().numpy()
        logits, loss = model(**batch)
        n = torch.tensor(float(len(rows)), device=logits.device)
        answers = self.answers(logits, rows, self.evaluating)
        em = sum(best_scores(text, golds)[0] for _, golds, text in answers)
        f1 = sum(best_scores(text, golds)[1] for _, golds, text in answers)
        scores = torch.tensor([em, f1, float(len(answers))], device=logits.device)
        return torch.cat([torch.stack([loss.float() * n, n]), scores])

    def answers(self, logits: torch.Tensor, rows: np.ndarray, which: str) -> list[tuple[int, list[str], str]]:
        """Each question these windows read: its number in the split, its gold answers and the answer the logits
        give ("" for none)."""
        split, examples = self._split(which)
        lg = logits.float().cpu().numpy()
        allowed = split.allowed(rows)[:, : lg.shape[1]]
        out = []
        for q in np.unique(split.example[rows]):
            at = np.flatnonzero(split.example[rows] == q)
            guess = best_span(lg[at, :, 0], lg[at, :, 1], allowed[at])
            a, b = span_chars(guess, split.word_start[rows[at]], split.word_end[rows[at]])
            out.append((int(q), examples[q].answers, examples[q].context[a:b]))
        return out

    def summarize(self, s):
        questions = max(s[4], 1)
        return {"loss": s[0] / max(s[1], 1), "exact_match": s[2] / questions, "f1": s[3] / questions}

    def samples(self, model):
        """The first validation questions with the model's answer, and whether it is right."""
        batch = self.eval_batches("val")[0]
        rows = batch.pop("window")
        model.eval()
        with torch.no_grad():
            logits = model(**self.ctx.to_device(batch))[0]
        model.train()
        out = []
        for q, golds, text in self.answers(logits, rows, "val")[:5]:
            example = self.data.val_examples[q]
            right = best_scores(text, golds)[0] == 1.0
            truth = repr(golds[0]) if golds else "no answer"
            out.append((f"{example.question}\n  {example.context[:200]}",
                        f"\n  → {repr(text) if text else 'no answer'} {'✓' if right else f'✗ true: {truth}'}"))
        return out
