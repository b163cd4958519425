"""What is learned: causal LM, masked LM (+ next sentence) or classification, behind one interface.

A task owns its data (batches as dicts of arrays that the model takes as keyword arguments), its
evaluation (sums reduced across processes, then turned into metrics) and what it shows as samples.
The trainer's loop is the same for all three.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from engine.data.batches import WindowSampler, eval_starts, hold_out_test
from engine.data.encode import PreparedCorpus, stats_dict
from engine.data.labelled import ExampleSampler, classification_metrics, framing_ids, load_labelled
from engine.data.masked import IGNORE, MaskedSampler, continuation_table, special_ids
from engine.data.tokenizer import Tokenizer
from engine.infer.generate import SamplingOptions, generate_text
from engine.infer.grad_free import grad_free
from engine.probes.icl import icl_positions
from engine.runtime import distributed as ddp
from engine.runtime.device import auto_batch_size
from engine.train.probe import Probes
from engine.train.sharding import whole_root
from engine.train.task_context import TaskContext

SPLIT_SEEDS = {"val": 1, "train": 2, "test": 3}
"""Each split's fixed evaluation windows are drawn with the run's seed plus this."""
EVAL_ROWS, EVAL_LOGIT_BYTES = 48, 64 << 20
"""A language model's fixed evaluation batches are run several to a forward pass, up to this many rows
and this much of logits: on CPU, 12-row batches in fours took 12% less time (bench/README.md)."""


class Task:
    """Every hook the trainer calls is declared here, with a default where a task may leave it out; subclasses
    fill in their data (`sampler`, `eval_batches`) and metrics (`n_sums`, `batch_sums`, `summarize`).

    A task is given a TaskContext (engine/train/task_context.py), never its owner; it holds the tokenizer it was
    built with, and a language model's token stream as `corpus`."""

    name = ""
    metric_names: tuple[str, ...] = ()
    labels: list[str] | None = None
    """A classifier's label names, in the order of its outputs."""
    corpus: PreparedCorpus | None = None
    tokenizer: Tokenizer
    tokens_per_row: int
    """Tokens a batch row trains on, for the throughput."""

    def __init__(self, ctx: TaskContext):
        self.ctx = ctx
        self.tr = ctx.cfg.train

    def batch(self, step: int, micro: int) -> dict[str, np.ndarray]:
        return self.sampler.batch(step, micro)

    def configure(self, model) -> None:
        """Set what the task decides on the built model, before it is sharded or wrapped."""

    def rank_args(self) -> dict:
        d = self.ctx.dist
        return {"grad_accum": self.tr.grad_accum, "rank": d.rank, "world_size": d.world_size}

    def evaluate(self, model, which: str) -> dict:
        """Metrics on fixed validation ("val") or training ("train") rows, reduced over processes; in
        inference mode where the model allows it (engine/infer/grad_free.py)."""
        with grad_free(model):
            return self._evaluate(model, which)

    def _evaluate(self, model, which: str) -> dict:
        batches = self.eval_batches(which)
        total = None
        ctx = self.ctx
        rank, world = ctx.dist.rank, ctx.dist.world_size
        for first in range(0, len(batches), world):  # every rank runs every round (sharded models need it)
            b = first + rank
            batch = ctx.to_device(batches[b if b < len(batches) else 0])
            with ctx.autocast():
                sums = self.batch_sums(model, batch)
            if b < len(batches):
                total = sums if total is None else total + sums
        if total is None:
            total = torch.zeros(self.n_sums(), device=ctx.device)
        ddp.all_reduce_sum(total, ctx.dist)
        metrics = self.summarize(total.double().cpu().numpy())
        return {k: float(v) if isinstance(v, (float, np.floating)) else v for k, v in metrics.items()}

    def samples(self, model) -> list[tuple[str, str]]:
        return []

    def has_test(self) -> bool:
        return False

    def evaluate_test(self, model) -> dict | None:
        """The final model's metrics on the test split (data.test_fraction), once at the end; None without one."""
        if not self.has_test():
            return None
        model.eval()
        out = self.evaluate(model, "test")
        model.train()
        return out

    def probe_ids(self) -> list[int]:
        """The start of the validation data as token ids (what the attention probe reads)."""
        return []

    def record_attention(self, model, step: int, probes: Probes, *, main: bool, sharded: bool) -> Path | None:
        """The attention maps of train.probe_text, or of the validation data's start, and the embedding map, by
        the run's probes; the main process writes them and returns where (every rank of a sharded model joins)."""
        probe = self.ctx.cfg.train.probe_text
        ids = self.tokenizer.encode(probe)[: model.config.block_size] if probe else self.probe_ids()
        return probes.record(model, ids, step, main=main, sharded=sharded)

    def val_text(self) -> str:
        """The start of the validation data as text (what the attention probe reads): the studio's default
        prompt and inspection text come from the run's own corpus this way."""
        return self.tokenizer.decode(self.probe_ids())

    def stats(self) -> dict:
        """The data's statistics for the `started` event."""
        return stats_dict(self.corpus.stats)

    def warn_unknown_tokens(self, tokens: np.ndarray) -> None:
        """A fine-tune's tokenizer may not know the new corpus's characters: say so when it shows."""
        unk = [i for t in ("<unk>", "[UNK]") if (i := self.tokenizer.token_id(t)) is not None]
        head = tokens[: 1_000_000]
        share = float(np.isin(head, unk).mean()) if unk and len(head) else 0.0
        if share > 0.01:
            self.ctx.events.emit("warning", kind="unknown_tokens", share=share, message=(
                f"{share:.0%} of the corpus is unknown to the tokenizer: the model cannot learn those parts "
                f"(a fine-tune keeps its source's tokenizer)"))


class CausalTask(Task):
    name = "causal"

    def __init__(self, ctx: TaskContext, corpus: PreparedCorpus):
        super().__init__(ctx)
        self.corpus, self.tokenizer = corpus, corpus.tokenizer
        self.train_tokens, self.val_tokens = corpus.arrays()
        T = ctx.cfg.model.block_size
        self.train_tokens, _, self.test_tokens, _ = hold_out_test(
            self.train_tokens, np.zeros(1, dtype=np.int64), corpus.stats.tokens, ctx.cfg.data.test_fraction, T)
        self.sampler = WindowSampler(self.train_tokens, T, self.tr.batch_size, seed=self.tr.seed, **self.rank_args())
        self.tokens_per_row = T
        self.warn_unknown_tokens(self.train_tokens)

    def batch(self, step, micro):
        return dict(zip(("idx", "targets"), self.sampler.batch(step, micro)))

    def has_test(self) -> bool:
        return len(self.test_tokens) > 0

    def stats(self) -> dict:
        return stats_dict(self.corpus.stats) | {"train_tokens": len(self.train_tokens),
                                                 "test_tokens": len(self.test_tokens)}

    def eval_batches(self, which):
        tokens = {"val": self.val_tokens, "train": self.train_tokens, "test": self.test_tokens}[which]
        T = self.ctx.cfg.model.block_size
        starts = eval_starts(len(tokens), T, self.tr.eval_batches, self.tr.batch_size,
                             seed=self.tr.seed + SPLIT_SEEDS[which])
        sampler = WindowSampler(tokens, T, self.tr.batch_size, seed=0)
        vocab = self.ctx.cfg.model.vocab_size or self.tokenizer.vocab_size
        rows = min(EVAL_ROWS, EVAL_LOGIT_BYTES // (T * vocab * 4))
        per = max(1, rows // self.tr.batch_size)  # equal batches merged: the mean of their means is kept
        return [dict(zip(("idx", "targets"), sampler.windows(starts[i: i + per].reshape(-1))))
                for i in range(0, len(starts), per)]

    def n_sums(self):
        return 4

    def batch_sums(self, model, batch):
        """The mean loss, and the mean losses early and late in the context for the in-context
        learning score."""
        logits, _ = model(batch["idx"])
        targets = batch["targets"]
        ce = F.cross_entropy(logits.float().flatten(0, 1), targets.reshape(-1), reduction="none").view(targets.shape)
        early, late = icl_positions(targets.size(1))
        batches = targets.size(0) / self.tr.batch_size  # how many evaluation batches this pass holds
        one = torch.ones((), device=ce.device)
        return torch.stack([ce.mean(), one, ce[:, early].mean(), ce[:, late].mean()]) * batches

    def summarize(self, s):
        n = max(s[1], 1)
        loss = s[0] / n
        return {"loss": loss, "ppl": math.exp(min(loss, 50)), "icl_score": (s[3] - s[2]) / n}

    def probe_ids(self) -> list[int]:
        return [int(t) for t in self.val_tokens[: min(64, self.ctx.cfg.model.block_size)]]

    def samples(self, model):
        out = []
        for i, prompt in enumerate(self.tr.sample_prompts):
            opts = SamplingOptions(max_new_tokens=self.tr.sample_tokens, temperature=0.8, top_k=50,
                                   seed=self.tr.seed + i)
            out.append((prompt, generate_text(model, self.tokenizer, prompt, opts, device=self.ctx.device)))
        return out


class MaskedTask(CausalTask):
    name = "masked"
    metric_names = ("accuracy", "nsp_accuracy")

    def __init__(self, ctx: TaskContext, corpus: PreparedCorpus):
        Task.__init__(self, ctx)
        self.corpus, self.tokenizer = corpus, corpus.tokenizer
        self.specials = special_ids(self.tokenizer)
        self.train_tokens, self.val_tokens = corpus.arrays()
        self.train_docs, self.val_docs = corpus.doc_starts()
        self.train_tokens, self.train_docs, self.test_tokens, self.test_docs = hold_out_test(
            self.train_tokens, self.train_docs, corpus.stats.tokens, ctx.cfg.data.test_fraction,
            ctx.cfg.model.block_size)
        self.tokens_per_row = ctx.cfg.model.block_size
        self.warn_unknown_tokens(self.train_tokens)
        self.sampler = self.make_sampler(self.train_tokens, self.train_docs, **self.rank_args())

    batch = Task.batch  # dicts already, unlike the causal sampler's pairs

    def make_sampler(self, tokens, docs, **kwargs) -> MaskedSampler:
        k, tok = self.ctx.cfg.task, self.tokenizer
        spaces = None
        if tok.kind == "char":
            spaces = np.array([i for ch in " \t\n\r" if (i := tok.token_id(ch)) is not None], dtype=np.int64)
        return MaskedSampler(tokens, docs, self.ctx.cfg.model.block_size, self.tr.batch_size, specials=self.specials,
                             seed=self.tr.seed, prob=k.mask_prob, nsp=k.nsp, whole_word=k.whole_word_mask,
                             continues=continuation_table(tok), space_ids=spaces, **kwargs)

    def eval_batches(self, which):
        tokens, docs = {"val": (self.val_tokens, self.val_docs), "train": (self.train_tokens, self.train_docs),
                        "test": (self.test_tokens, self.test_docs)}[which]
        seed = self.tr.seed + SPLIT_SEEDS[which]
        return self.make_sampler(tokens, docs).eval_batches(self.tr.eval_batches, seed=seed)

    def n_sums(self):
        return 5

    def batch_sums(self, model, batch):
        with whole_root(model):
            return self._batch_sums(model, batch)

    def _batch_sums(self, model, batch):
        hidden = model.encode(batch["idx"], batch["token_types"])
        targets = batch["targets"]
        chosen = targets != IGNORE
        n = chosen.sum()
        logits = model.mlm_logits(hidden[chosen]).float()  # the masked positions only, as in training
        loss = torch.nn.functional.cross_entropy(logits, targets[chosen], reduction="sum")
        correct = (logits.argmax(-1) == targets[chosen]).sum()
        nsp_correct = nsp_n = torch.zeros((), device=logits.device)
        if "nsp_labels" in batch:
            nsp_correct = (model.nsp_logits(hidden).argmax(-1) == batch["nsp_labels"]).sum()
            nsp_n = torch.tensor(float(len(batch["nsp_labels"])), device=logits.device)
        return torch.stack([loss, n.float(), correct.float(), nsp_correct.float(), nsp_n])

    def summarize(self, s):
        loss = s[0] / max(s[1], 1)
        out = {"loss": loss, "ppl": math.exp(min(loss, 50)), "accuracy": s[2] / max(s[1], 1)}
        if s[4]:
            out["nsp_accuracy"] = s[3] / s[4]
        return out

    def samples(self, model):
        """The first validation window with its masks filled in by the model."""
        batch = self.ctx.to_device(self.eval_batches("val")[0])
        row = {k: v[:1] for k, v in batch.items()}
        model.eval()
        with torch.no_grad(), whole_root(model):
            hidden = model.encode(row["idx"], row["token_types"])
            guess = model.mlm_logits(hidden).argmax(-1)[0]
        model.train()
        ids = row["idx"][0].tolist()[1:49]
        targets = row["targets"][0].tolist()[1:49]
        tok = self.tokenizer
        filled, run = [], []
        for i, (x, t) in enumerate(zip(ids, targets)):
            if t == IGNORE:
                run.append(x)
                continue
            filled.append(tok.decode(run))
            run = []
            filled.append(f" [{tok.decode([int(guess[i + 1])]).strip()}]")
        filled.append(tok.decode(run))
        return [(tok.decode(ids) + "\n→ ", "".join(filled))]


class ClassifyTask(Task):
    name = "classify"
    metric_names = ("accuracy", "macro_f1")

    def __init__(self, ctx: TaskContext, tokenizer: Tokenizer, cache_dir):
        super().__init__(ctx)
        self.tokenizer = tok = tokenizer
        encoder = ctx.arch == "bert"
        self.data = load_labelled(ctx.cfg, tok, cache_dir, encoder=encoder, **framing_ids(tok, encoder=encoder))
        self.labels = self.data.label_names
        self.sampler = ExampleSampler(self.data.train, self.tr.batch_size, seed=self.tr.seed, **self.rank_args())
        train = self.data.train
        self.warn_unknown_tokens(train.idx[np.arange(train.idx.shape[1])[None, :] < train.lengths[:, None]])
        self.tokens_per_row = int(self.data.train.lengths.mean())

    def stats(self):
        d = self.data
        return {"documents": d.texts, "labels": self.labels, "train_examples": len(d.train),
                "val_examples": len(d.val), "test_examples": len(d.test), "truncated": d.truncated,
                "vocab_size": self.tokenizer.vocab_size}

    def has_test(self) -> bool:
        return len(self.data.test) > 0

    def eval_batches(self, which):
        split = {"val": self.data.val, "train": self.data.train, "test": self.data.test}[which]
        n = len(split) if which != "train" else min(len(split), self.tr.eval_batches * self.tr.batch_size)
        bs = self.tr.batch_size
        return [split.take(np.arange(i, min(i + bs, n))) for i in range(0, n, bs)]

    def n_sums(self):
        return 2 + len(self.labels) ** 2

    def batch_sums(self, model, batch):
        logits, loss = model(**batch)
        k = len(self.labels)
        cells = batch["targets"] * k + logits.argmax(-1)
        confusion = torch.bincount(cells, minlength=k * k).float()
        n = float(len(batch["targets"]))
        return torch.cat([torch.stack([loss.float() * n, torch.tensor(n, device=loss.device)]), confusion])

    def summarize(self, s):
        k = len(self.labels)
        confusion = s[2:].reshape(k, k).astype(np.int64)
        truth = np.repeat(np.arange(k), confusion.sum(1))
        pred = np.concatenate([np.repeat(np.arange(k), row) for row in confusion])
        metrics = classification_metrics(truth, pred, k)
        return {"loss": s[0] / max(s[1], 1), **metrics}

    def probe_ids(self) -> list[int]:
        return self.data.val.idx[0, : int(self.data.val.lengths[0])].tolist()

    def samples(self, model):
        """The first validation examples with the model's label and its confidence."""
        n = min(5, len(self.data.val))
        batch = self.ctx.to_device(self.data.val.take(np.arange(n)))
        model.eval()
        with torch.no_grad():
            probs = torch.softmax(model(**batch)[0].float(), -1)
        model.train()
        out = []
        specials = {self.tokenizer.token_id(t) for t in ("[CLS]", "[SEP]", "[PAD]")}
        for i in range(n):
            ids = [t for t in self.data.val.idx[i, : int(self.data.val.lengths[i])].tolist() if t not in specials]
            guess, truth = int(probs[i].argmax()), int(self.data.val.labels[i])
            mark = "✓" if guess == truth else "✗"
            out.append((self.tokenizer.decode(ids)[:200],
                        f"\n  {mark} predicted {self.labels[guess]} ({float(probs[i, guess]):.0%}), "
                        f"true {self.labels[truth]}"))
        return out


def resolve_auto_batch(ctx: TaskContext, vocab_size: int) -> None:
    """train.auto_batch_size picks the micro-batch here, once the vocabulary is known; run.toml records the
    number (and the choice as made), so a resumed run keeps it."""
    tr = ctx.cfg.train
    if tr.auto_batch_size:
        tr.batch_size = auto_batch_size(ctx.cfg, vocab_size, ctx.device)
        tr.auto_batch_size = False
        ctx.events.emit("prepare", stage="batch", message=f"micro-batch {tr.batch_size}: the largest that fits "
                        f"the memory estimate")
