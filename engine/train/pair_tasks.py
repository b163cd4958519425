"""Tasks that learn targets for sources: seq2seq (an encoder-decoder, on pairs or by T5 denoising of
plain text) and instruct (a decoder taught responses to prompts).

Besides the loss and token accuracy, each evaluation has the model write targets for a fixed sample
of validation sources (greedy, at most the target length) and scores them against the references:
BLEU, chrF, ROUGE-L and exact match (engine/train/text_metrics.py). A test split, when the run has
one, is scored once at the end.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from engine.core.errors import UserError
from engine.data.batches import hold_out_test
from engine.data.chat_template import prompt_text
from engine.data.files import find_corpus_files
from engine.data.labelled import ExampleSampler
from engine.data.pair_prepare import prepare_pairs
from engine.data.pairs import (
    IGNORE,
    PairSplit,
    Rows,
    instruct_batch,
    padded_pairs,
    seq2seq_batch,
    seq2seq_specials,
)
from engine.data.span_corruption import SpanCorruptionSampler, window_length
from engine.data.tokenizer import Tokenizer
from engine.infer.generate import greedy_continuations
from engine.infer.seq2seq_generate import greedy_batch
from engine.probes.cross_attention import save_recorded, seq2seq_patterns
from engine.train.probe import Probes
from engine.train.task_context import TaskContext
from engine.train.tasks import SPLIT_SEEDS, Task
from engine.train.text_metrics import text_metrics


class PairTask(Task):
    """What seq2seq and instruct share: pairs split three ways, and generated targets scored."""

    metric_names = ("accuracy",)

    def prepared(self, prepare, tokenizer):
        """`prepare(cfg, tokenizer=, progress=)` as the `prepare` command runs it, each stage reported as an event;
        its tokenizer, data and special ids become the task's."""
        events = self.ctx.events
        prepared = prepare(self.ctx.cfg, tokenizer=tokenizer, progress=lambda stage, msg: events.emit(
            "prepare", stage=stage, message=msg))
        self.tokenizer, self.data, self.specials = prepared.tokenizer, prepared.data, prepared.specials
        return prepared

    def warn_left(self, *counted: tuple[int, str, str]) -> None:
        """A warning event for each (count, kind, sentence) whose count is not zero: what the data lost."""
        for count, kind, sentence in counted:
            if count:
                self.ctx.events.emit("warning", kind=kind, message=f"{count} {sentence}")

    def load_pairs(self, tokenizer) -> None:
        """Read, tokenize and split the pairs as the `prepare` command does, reporting each stage as an event."""
        target_key = self.prepared(prepare_pairs, tokenizer).target_key
        d = self.data
        self.warn_left(
            (d.truncated, "truncated", "source(s) are longer than model.block_size and were cut to it"),
            (d.targets_cut, "truncated",
             f'target(s) are longer than {target_key} and were cut to it (data.long_pairs = "truncate")'),
            (d.dropped, "dropped", 'pair(s) longer than the model takes were left out (data.long_pairs = "drop")'))

    def stats(self) -> dict:
        d = self.data
        n = len(d.train) + len(d.val) + len(d.test)
        return {"documents": n, "train_examples": len(d.train), "val_examples": len(d.val),
                "test_examples": len(d.test), "truncated": d.truncated, "targets_cut": d.targets_cut,
                "dropped": d.dropped, "vocab_size": self.tokenizer.vocab_size}

    def eval_rows(self, which: str) -> PairSplit:
        return {"val": self.data.val, "train": self.data.train, "test": self.data.test}[which]

    def eval_batches(self, which):
        split = self.eval_rows(which)
        n = len(split) if which == "test" else min(len(split), self.tr.eval_batches * self.tr.batch_size)
        bs = self.tr.batch_size
        return [self.make_batch(split, np.arange(i, min(i + bs, n))) for i in range(0, n, bs)]

    def n_sums(self):
        return 3

    def summarize(self, s):
        loss = s[0] / max(s[1], 1)
        return {"loss": loss, "ppl": math.exp(min(loss, 50)), "accuracy": s[2] / max(s[1], 1)}

    def evaluate(self, model, which: str) -> dict:
        metrics = super().evaluate(model, which)
        if which != "train" and self.ctx.cfg.task.metric_samples:
            split = self.eval_rows(which)
            n = len(split) if which == "test" else min(len(split), self.ctx.cfg.task.metric_samples)
            predictions = self.write_targets(model, split, n)
            metrics.update(text_metrics(predictions, split.targets[:n]))
        return metrics

    def has_test(self) -> bool:
        return len(self.data.test) > 0

    def samples(self, model):
        """The first validation sources, each with the model's target and the reference."""
        split = self.data.val
        n = min(4, len(split))
        model.eval()
        predictions = self.write_targets(model, split, n)
        model.train()
        return [(f"{split.sources[i]}\n→ ", f"{predictions[i]}\n  (reference: {split.targets[i]})") for i in range(n)]

    def val_text(self) -> str:
        return self.data.val.sources[0] if len(self.data.val) else ""


class Seq2SeqTask(PairTask):
    name = "seq2seq"

    def __init__(self, ctx: TaskContext, tokenizer: Tokenizer | None = None):
        super().__init__(ctx)
        m = ctx.cfg.model
        self.max_target = m.target_block_size or m.block_size
        self.denoise = not is_table_corpus(ctx.cfg.data.path)
        self._sample_batch = None  # denoising: the validation window each sample reads, built once
        if self.denoise:
            self._init_denoising(tokenizer)
        else:
            self.load_pairs(tokenizer)
            self.make_batch = lambda split, rows: seq2seq_batch(split, rows, self.specials)
            self.sampler = ExampleSampler(Rows(len(self.data.train), lambda r: self.make_batch(self.data.train, r)),
                                          self.tr.batch_size, seed=self.tr.seed, **self.rank_args())
            self.tokens_per_row = int(np.mean([len(t) + 1 for t in self.data.train.tgt]))

    def _init_denoising(self, tokenizer: Tokenizer | None) -> None:
        cfg = self.ctx.cfg
        self.corpus = self.ctx.prepare_corpus(tokenizer)
        self.tokenizer = self.corpus.tokenizer
        self.specials = seq2seq_specials(self.tokenizer, sentinels=True)
        self.train_tokens, self.val_tokens = self.corpus.arrays()
        m = cfg.model
        self.train_tokens, _, self.test_tokens, _ = hold_out_test(
            self.train_tokens, np.zeros(1, dtype=np.int64), self.corpus.stats.tokens, cfg.data.test_fraction,
            m.block_size + self.max_target)
        self.window = window_length(m.block_size, self.max_target, len(self.specials.sentinels), cfg.task.mask_prob)
        if len(self.val_tokens) <= self.window:
            raise UserError(f"the validation split holds {len(self.val_tokens)} tokens, fewer than one denoising "
                            f"window of {self.window}: add text or lower model.block_size")
        kw = {"density": cfg.task.mask_prob}
        self.sampler = SpanCorruptionSampler(self.train_tokens, self.window, self.tr.batch_size, self.specials,
                                             seed=self.tr.seed, **kw, **self.rank_args())
        self._eval = {w: SpanCorruptionSampler(tokens, self.window, self.tr.batch_size, self.specials, seed=0, **kw)
                      for w, tokens in (("val", self.val_tokens), ("train", self.train_tokens),
                                        ("test", self.test_tokens)) if len(tokens) > self.window}
        self.tokens_per_row = self.window

    def stats(self):
        if self.denoise:
            return Task.stats(self) | {"denoising_window": self.window, "test_tokens": len(self.test_tokens),
                                       "train_tokens": len(self.train_tokens)}
        return super().stats()

    def has_test(self) -> bool:
        return "test" in self._eval if self.denoise else super().has_test()

    def eval_batches(self, which):
        if self.denoise:
            return self._eval[which].eval_batches(self.tr.eval_batches, seed=self.tr.seed + SPLIT_SEEDS[which])
        return super().eval_batches(which)

    def configure(self, model) -> None:
        model.label_smoothing = self.ctx.cfg.task.label_smoothing

    def batch_sums(self, model, batch):
        logits, _ = model(batch["src"], batch["tgt_in"], src_lengths=batch["src_lengths"])
        return token_sums(logits, batch["targets"])

    def evaluate(self, model, which):
        if self.denoise:
            return Task.evaluate(self, model, which)
        return super().evaluate(model, which)

    def record_attention(self, model, step: int, probes: Probes, *, main: bool, sharded: bool) -> Path | None:
        """The first validation pair's three attention stacks, teacher-forced on its reference target, so
        that every evaluation's maps share their rows (attention/step-NNNNNN.npz); none for denoising."""
        if self.denoise or not len(self.data.val):
            return None
        src, tgt = self.data.val.src[0] + [self.specials.eos], self.data.val.tgt[0]
        maps = seq2seq_patterns(model, src, [self.specials.pad] + tgt)
        if not main:
            return None
        tok = self.tokenizer
        if not sharded:
            probes.embeddings.record(model, step)  # the shared token embedding's map, as a decoder's
        return save_recorded(probes.run_dir / "attention", step, maps, tok.token_strings(src), tok.token_strings(tgt))

    def val_text(self) -> str:
        if self.denoise:
            return self.tokenizer.decode(self.val_tokens[: self.window].tolist())
        return super().val_text()

    def write_targets(self, model, split: PairSplit, n: int) -> list[str]:
        out = []
        for first in range(0, n, 64):
            rows = np.arange(first, min(first + 64, n))
            batch = self.ctx.to_device(padded_pairs([split.src[i] for i in rows], [[] for _ in rows], self.specials))
            with self.ctx.autocast():
                ids = greedy_batch(model, batch["src"], batch["src_lengths"], max_len=self.max_target,
                                   start=self.specials.pad, eos=self.specials.eos)
            out += [self.tokenizer.decode(row) for row in ids]
        return out

    def samples(self, model):
        if not self.denoise:
            return super().samples(model)
        if self._sample_batch is None:
            self._sample_batch = self._eval["val"].eval_batches(1, seed=self.tr.seed + 1)[0]
        batch = self.ctx.to_device(self._sample_batch)
        model.eval()
        with torch.no_grad():
            src, n = batch["src"][:1], int(batch["src_lengths"][0])
            guess = greedy_batch(model, src[:, :n], batch["src_lengths"][:1], max_len=self.max_target,
                                 start=self.specials.pad, eos=self.specials.eos)[0]
        model.train()
        tok = self.tokenizer
        truth = [t for t in batch["targets"][0].tolist() if t not in (IGNORE, self.specials.eos)]
        return [(tok.decode(src[0, : n - 1].tolist()) + "\n→ ", f"{tok.decode(guess)}\n  (reference: "
                                                              f"{tok.decode(truth)})")]


class InstructTask(PairTask):
    """A decoder reads the chat template's one-turn prompt around the source (engine/data/chat_template.py) and
    learns the response; prompt tokens carry no loss. Conversations are engine/train/chat_task.py's."""

    name = "instruct"

    def __init__(self, ctx: TaskContext, tokenizer: Tokenizer | None = None):
        super().__init__(ctx)
        self.load_pairs(tokenizer)
        tok = self.tokenizer
        self.prompts = {name: [tok.encode(prompt_text(s)) for s in split.sources]
                        for name, split in (("train", self.data.train), ("val", self.data.val),
                                            ("test", self.data.test))}
        self.make_batch = self._batch
        self.sampler = ExampleSampler(Rows(len(self.data.train), lambda r: self._batch(self.data.train, r)),
                                      self.tr.batch_size, seed=self.tr.seed, **self.rank_args())
        self.tokens_per_row = int(np.mean([len(p) + len(t) for p, t in zip(self.prompts["train"],
                                                                          self.data.train.tgt)]))

    def _batch(self, split, rows):
        return instruct_batch(split, rows, self.prompts[split.name], self.specials.eos,
                              self.specials.pad, self.ctx.cfg.model.block_size)

    def batch_sums(self, model, batch):
        logits, _ = model(batch["idx"])
        return token_sums(logits, batch["targets"])

    def write_targets(self, model, split: PairSplit, n: int) -> list[str]:
        """Greedy responses, ended by <eos> or the context."""
        ids = greedy_continuations(model, self.prompts[split.name][:n], eos=self.specials.eos,
                                   banned=[self.specials.pad], device=self.ctx.device)
        return [self.tokenizer.decode(row) for row in ids]


def token_sums(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Summed loss, counted target tokens and correct ones (positions marked -100 left out)."""
    chosen = targets != IGNORE
    flat = logits.float()[chosen]
    loss = F.cross_entropy(flat, targets[chosen], reduction="sum")
    correct = (flat.argmax(-1) == targets[chosen]).sum().float()
    return torch.stack([loss, chosen.sum().float(), correct])


def is_table_corpus(path: str) -> bool:
    files = find_corpus_files(path)
    return files.saved_dataset is not None or any(b != "text" for b in files.by_builder)


def make_pair_task(ctx: TaskContext, tokenizer: Tokenizer | None = None) -> Task:
    """A pair objective's task, its tokenizer trained on both sides of the pairs unless one is given."""
    return (Seq2SeqTask if ctx.cfg.model.objective == "seq2seq" else InstructTask)(ctx, tokenizer)
