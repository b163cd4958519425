"""A read-only text view of generated tokens, shaded by probability; hovering a token shows alternatives. A
classifier's labels, a masked LM's guesses, a tagger's entities and a question answerer's answer (marked in the text,
hover for type and score) are shown in it too."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QTextBrowser, QToolTip

from studio.playground.answer import answer_line, answer_marks
from studio.widgets.entity_marks import entity_list_html, entity_tip, marked_html


class TokenOutput(QTextBrowser):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.prompt = ""
        self.tokens: list[dict] = []
        self.spans: list[tuple[int, int]] = []
        """Character range of each token in the plain text."""
        self.entities: list[dict] = []
        """A tagger's entities (or a question answerer's answer) in the text shown ({kind, text, start, end, score})."""
        self.entity_spans: list[tuple[int, int]] = []
        """Where each entity's characters sit in the document (its type label shifts what follows)."""

    def start(self, prompt: str) -> None:
        self.prompt = prompt
        self.tokens, self.spans, self.entities, self.entity_spans = [], [], [], []
        self.setHtml(self._escape(prompt, bold=True))

    def add(self, token: dict) -> None:
        start = len(self.prompt) + sum(len(t["text"]) for t in self.tokens)
        self.tokens.append(token)
        self.spans.append((start, start + len(token["text"])))
        prob = token.get("prob")
        shade = "" if prob is None else f"background:rgba(234,88,12,{0.55 * (1 - prob):.2f});"
        cursor = self.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        cursor.insertHtml(f'<span style="white-space:pre-wrap;{shade}">{self._escape(token["text"])}</span>')

    def show_prediction(self, result: dict, question: str = "") -> None:
        """A classifier's labels as probability bars, a masked LM's filled-in text and its guesses, the text with
        a tagger's entities marked, or the context (the text) with the answer to `question` marked."""
        self.tokens, self.spans, self.entities, self.entity_spans = [], [], [], []
        if result["kind"] in ("tag", "span"):
            answering = result["kind"] == "span"
            self.entities = answer_marks(result) if answering else list(result["entities"])
            marked, self.entity_spans = marked_html(self.prompt, self.entities)
            after = (f"<p><b>Q:</b> {self._escape(question)}</p><p>{self._escape(answer_line(result))}</p>"
                     if answering else entity_list_html(self.entities))
            self.setHtml(f"<p style='white-space:pre-wrap'>{marked}</p>{after}")
            return
        if result["kind"] == "classify":
            rows = "".join(
                f"<tr><td style='padding-right:8px'>{html.escape(label)}</td>"
                f"<td><span style='color:#2563eb'>{'█' * max(1, round(p * 40))}</span></td>"
                f"<td style='padding-left:8px'>{p:.1%}</td></tr>" for label, p in result["labels"])
            self.setHtml(f"<p>{self._escape(self.prompt, bold=True)}</p><table>{rows}</table>")
            return
        guesses = "".join(f"<li>[MASK] {i + 1}: " + ", ".join(f"{html.escape(repr(t))} {p:.1%}" for t, p in cands)
                          + "</li>" for i, (_, cands) in enumerate(result["guesses"]))
        self.setHtml(f"<p>{self._escape(self.prompt, bold=True)}</p><p>→ {self._escape(result['text'])}</p>"
                     f"<ul>{guesses}</ul>")

    def generated_text(self) -> str:
        return "".join(t["text"] for t in self.tokens)

    def token_at(self, position: int) -> int | None:
        for i, (a, b) in enumerate(self.spans):
            if a <= position < b:
                return i
        return None

    def describe(self, index: int) -> str:
        t = self.tokens[index]
        if t.get("prob") is None:
            return f"{t['text']!r} (beam search)"
        others = [(text, p) for text, p in t["alternatives"] if text != t["text"]]  # the chosen one is above
        alts = "<br>".join(f"{html.escape(repr(text))}: {p:.1%}" for text, p in others)
        return f"<b>{html.escape(repr(t['text']))}</b>: {t['prob']:.1%}" + (f"<br>other choices:<br>{alts}"
                                                                            if alts else "")

    def entity_at(self, position: int) -> int | None:
        return next((i for i, (a, b) in enumerate(self.entity_spans) if a <= position < b), None)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        position = self.cursorForPosition(event.position().toPoint()).position()
        index, entity = self.token_at(position), self.entity_at(position)
        if index is not None:
            QToolTip.showText(event.globalPosition().toPoint(), self.describe(index), self)
        elif entity is not None:
            QToolTip.showText(event.globalPosition().toPoint(), entity_tip(self.entities[entity]), self)
        super().mouseMoveEvent(event)

    @staticmethod
    def _escape(text: str, bold: bool = False) -> str:
        body = html.escape(text).replace("\n", "<br>")
        return f'<b style="white-space:pre-wrap">{body}</b>' if bold else body
