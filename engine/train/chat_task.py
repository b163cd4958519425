"""The instruct objective on conversations: a decoder reads each whole conversation in the chat template
(engine/data/chat_template.py) and learns every assistant turn in one pass, the system and user turns and
every marker carrying no loss. An instruction and its response is the one-turn case (InstructTask reads
those from a table of pairs); this is the same objective, the same template and the same generation.

Each evaluation has the model answer held-out assistant turns after their reference history (greedy, up to
<eos>) and scores them against the references: BLEU, chrF, ROUGE-L and exact match as for pairs, and exact
match split into first and later turns (engine/train/turn_metrics.py), where the later ones need what
earlier turns said.
"""

from __future__ import annotations

import numpy as np

from engine.data.chat_encode import Turn
from engine.data.chat_prepare import ChatSplit, prepare_chats
from engine.data.chat_template import TEMPLATE
from engine.data.labelled import ExampleSampler
from engine.data.pairs import Rows, decoder_batch
from engine.data.tokenizer import Tokenizer
from engine.infer.generate import greedy_continuations
from engine.train.pair_tasks import PairTask, token_sums
from engine.train.task_context import TaskContext
from engine.train.tasks import Task
from engine.train.text_metrics import text_metrics
from engine.train.turn_metrics import turn_metrics


class ChatTask(PairTask):
    name = "instruct"

    def __init__(self, ctx: TaskContext, tokenizer: Tokenizer | None = None):
        Task.__init__(self, ctx)
        self.prepared(prepare_chats, tokenizer)
        self.warn_left(
            (self.data.cut, "truncated", 'conversation(s) are longer than model.block_size and were cut to it '
                                         '(data.long_pairs = "truncate")'),
            (self.data.dropped, "dropped", "conversation(s) longer than the model takes were left out"))
        self.make_batch = lambda split, rows: decoder_batch([split.rows[i] for i in rows], self.specials.pad)
        train = self.data.train
        self.sampler = ExampleSampler(Rows(len(train), lambda r: self.make_batch(train, r)), self.tr.batch_size,
                                      seed=self.tr.seed, **self.rank_args())
        self.tokens_per_row = int(np.mean([len(idx) for idx, _ in train.rows]))

    def stats(self) -> dict:
        d = self.data
        return {"documents": len(d.train) + len(d.val) + len(d.test), "train_examples": len(d.train),
                "val_examples": len(d.val), "test_examples": len(d.test), "val_turns": len(d.val.turns),
                "truncated": d.cut, "dropped": d.dropped, "vocab_size": self.tokenizer.vocab_size}

    def batch_sums(self, model, batch):
        logits, _ = model(batch["idx"])
        return token_sums(logits, batch["targets"])

    def evaluate(self, model, which: str) -> dict:
        metrics = Task.evaluate(self, model, which)
        if which != "train" and self.ctx.cfg.task.metric_samples:
            turns = self.eval_rows(which).turns
            turns = turns if which == "test" else turns[: self.ctx.cfg.task.metric_samples]
            answers = self.answer(model, turns)
            references = [t.reference for t in turns]
            metrics.update(text_metrics(answers, references))
            metrics.update(turn_metrics(answers, references, [t.number for t in turns]))
        return metrics

    def answer(self, model, turns: list[Turn]) -> list[str]:
        """Greedy answers to the turns, each ended by <eos> or the context."""
        ids = greedy_continuations(model, [t.prompt for t in turns], eos=self.specials.eos,
                                   banned=[self.specials.pad], device=self.ctx.device)
        return [self.tokenizer.decode(row) for row in ids]

    def samples(self, model):
        """The first held-out turns: the user's last words, the model's answer and the reference."""
        split: ChatSplit = self.data.val
        turns = split.turns[:4]
        model.eval()
        answers = self.answer(model, turns)
        model.train()
        out = []
        for turn, answer in zip(turns, answers):
            out.append((f"(turn {turn.number}) {turn.asked}\n→ ", f"{answer}\n  (reference: {turn.reference})"))
        return out

    def val_text(self) -> str:
        return TEMPLATE.render(self.data.val.conversations[0]) if len(self.data.val) else ""
