"""The Corpus page's view of a table of source -> target pairs: the first pairs, and one as an
instruction-tuned decoder reads it, with the part it is trained on (the response and its end) marked."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from engine.data.pairs import EOS, PROMPT_TEMPLATE

TRAINED = "background:#bbf7d0;"


def _text(s: str) -> str:
    return html.escape(s).replace("\n", "↵<br>")


def pairs_html(pairs: list[tuple[str, str]]) -> str:
    if not pairs:
        return ""
    rows = "".join(f"<li>{html.escape(s[:160])} <b>→</b> {html.escape(t[:160])}</li>" for s, t in pairs[:3])
    source, target = pairs[0]
    prompt = PROMPT_TEMPLATE.format(source=source[:300])
    return (f"<b>Source → target pairs.</b> On the Model page, <i>seq2seq</i> learns each target from its source "
            f"with an encoder-decoder; <i>instruct</i> teaches a decoder, which reads the pair as below and is "
            f"trained on the <span style='{TRAINED}'>marked</span> tokens only:<ul>{rows}</ul>"
            f"<div style='font-family:monospace; border:1px solid #ccc; padding:4px'>{_text(prompt)}"
            f"<span style='{TRAINED}'>{_text(target[:300] + EOS)}</span></div>")


class PairsView(QLabel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("pairs_view")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setVisible(False)

    def show_pairs(self, pairs: list[tuple[str, str]]) -> None:
        self.setText(pairs_html(pairs))
        self.setVisible(bool(pairs))
