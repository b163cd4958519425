"""The Corpus page's statistics card: what preparing measured, or a dash where nothing was measured."""

from __future__ import annotations

from engine.core.text import human_bytes
from studio.widgets.cards import Card

ROWS = [("documents", "Documents"), ("characters", "Characters"), ("bytes", "Size"), ("tokens", "Tokens"),
        ("split", "Train / validation"), ("vocab", "Vocabulary"), ("removed", "Cleaning removed")]


class StatsCard(Card):
    def __init__(self, parent=None):
        super().__init__("Statistics", ROWS, parent)

    def clear(self) -> None:
        for key in self.values:
            self.set(key, "–")

    def show_stats(self, s) -> None:
        """A prepared corpus's statistics (engine.data.encode's CorpusStats)."""
        self.set("documents", f"{s.documents:,}")
        self.set("characters", f"{s.characters:,}")
        self.set("bytes", human_bytes(s.bytes))
        self.set("tokens", f"{s.tokens:,} ({s.characters / max(1, s.tokens):.2f} characters a token)")
        self.set("split", f"{s.train_tokens:,} / {s.val_tokens:,}")
        self.set("vocab", f"{s.vocab_size:,}")
        self.set("removed", ", ".join(f"{n:,} {k}" for k, n in s.removed.items()) or "nothing")
