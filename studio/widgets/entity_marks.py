"""Named entities marked in a text, as rich text: each entity a coloured span (one colour a type) followed by its
type in small capitals; the Playground shows a tagger's entities this way, the Corpus page a tagged corpus's.

`marked_html` also says where each entity's characters sit in the document it makes (the type labels shift the
text after them), so a view can tell which entity the mouse is over."""

from __future__ import annotations

import html
import zlib

TYPE_COLORS = {"PER": "#fde68a", "LOC": "#bfdbfe", "ORG": "#bbf7d0", "DATE": "#fbcfe8", "MISC": "#ddd6fe"}
"""The usual types' colours (CoNLL-2003's four, and dates); another type gets one of OTHER_COLORS by its name."""
OTHER_COLORS = ("#fed7aa", "#a5f3fc", "#d9f99d", "#fecaca", "#e9d5ff", "#c7d2fe")
LABEL = "\u00a0{kind}"
"""What follows an entity's text inside its span: a no-break space and the type (one character a letter)."""


def type_color(kind: str) -> str:
    """The background of entities of type `kind`: the same in every view and every session."""
    return TYPE_COLORS.get(kind) or OTHER_COLORS[zlib.crc32(kind.encode()) % len(OTHER_COLORS)]


def _plain(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def marked_html(text: str, entities: list[dict]) -> tuple[str, list[tuple[int, int]]]:
    """(`text` with each entity {kind, start, end, score?} marked, the document positions of each entity's
    characters). Entities are in order and do not overlap, as a tagger's are."""
    out, spans, at, shift = [], [], 0, 0
    for e in sorted(entities, key=lambda e: e["start"]):
        start, end = int(e["start"]), int(e["end"])
        out.append(_plain(text[at:start]))
        label = LABEL.format(kind=e["kind"])
        out.append(f"<span style='background:{type_color(e['kind'])}'>{_plain(text[start:end])}"
                   f"<span style='font-size:small; font-weight:bold'>{html.escape(label)}</span></span>")
        spans.append((start + shift, end + shift))
        shift += len(label)
        at = end
    out.append(_plain(text[at:]))
    return "".join(out), spans


def entity_tip(entity: dict) -> str:
    """The hover text of one entity: its type, its text and (from a tagger) its score."""
    score = f": {entity['score']:.1%}" if entity.get("score") is not None else ""
    return f"<b>{html.escape(entity['kind'])}</b>{score}<br>{html.escape(repr(entity.get('text', '')))}"


def entity_list_html(entities: list[dict]) -> str:
    """The entities one a line (type, text, score), or a sentence saying there is none."""
    if not entities:
        return "<p>No entities found.</p>"
    rows = "".join(f"<li><span style='background:{type_color(e['kind'])}'>&nbsp;{html.escape(e['kind'])}&nbsp;"
                   f"</span> {html.escape(e.get('text', ''))}"
                   + (f" ({e['score']:.1%})" if e.get("score") is not None else "") + "</li>" for e in entities)
    return f"<ul>{rows}</ul>"


def entities_line(entities: list[dict]) -> str:
    """How many entities were found, of which types: "3 entities: PER, LOC, DATE"."""
    if not entities:
        return "No entities found"
    kinds = ", ".join(dict.fromkeys(e["kind"] for e in entities))
    return f"{len(entities)} {'entity' if len(entities) == 1 else 'entities'}: {kinds}"
