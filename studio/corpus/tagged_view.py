"""The Corpus page's words on a tagged corpus (named entities): that it is one and what the Model page does with it,
its sentence count and entity types (once prepared, the engine's report: sentences, words, entities per type,
pieces per word), and its first sentences with their entities marked as the Playground marks a tagger's."""

from __future__ import annotations

import html

from engine.run.humanlog import counted
from studio.state.tagged_corpus import TaggedPreview
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
