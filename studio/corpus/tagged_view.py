"""The Corpus page's view of a tagged corpus (named entities): that it is one and what the Model page does with it,
its sentence count and entity types (once prepared, the engine's report: sentences, words, entities per type,
pieces per word), and its first sentences with their entities marked as the Playground marks a tagger's."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from engine.run.humanlog import counted
from studio.state.tagged_corpus import PreparedTagged, TaggedPreview
from studio.widgets.entity_marks import marked_html

LEAD = ("<b>Tagged sentences (named entities).</b> On the Model page, <i>tag</i> learns a tag for every word "
        "(BIO: O, B-TYPE, I-TYPE), each word labelled on its first piece; Prepare trains the tokenizer on the "
        "sentences, never on their tags.")


def tagged_html(preview: TaggedPreview | None, report: list[str]) -> str:
    if preview is None:
        return ""
    what = [html.escape(line) for line in report] or [
        f"{counted(preview.sentences, 'sentence')}; entity types: {html.escape(', '.join(preview.types) or 'none')}"]
    note = f"<br><span style='color:#92400e'>{html.escape(preview.note)}</span>" if preview.note else ""
    first = "".join(f"<li>{marked_html(s.text, s.entities)[0]}</li>" for s in preview.first)
    return f"{LEAD}<br>{'<br>'.join(what)}{note}<ul>{first}</ul>"


class TaggedView(QLabel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("tagged_view")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setVisible(False)

    def show_tagged(self, preview: TaggedPreview | None, report: list[str]) -> None:
        """A tagged source's summary (the engine's report once prepared), or nothing for another source."""
        self.setText(tagged_html(preview, report))
        self.setVisible(preview is not None)


def show_tagged_stats(card, prepared: PreparedTagged) -> None:
    """A prepared tagged corpus in the statistics card: its sentences are the documents; no text stream is cut."""
    card.clear()
    card.set("documents", f"{prepared.sentences:,} sentences")
    card.set("tokens", f"{prepared.tokens:,}")
    card.set("vocab", f"{prepared.vocab_size:,}")
