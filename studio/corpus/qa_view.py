"""The Corpus page's words on questions on contexts (extractive question answering): that the source holds them
and what the Model page does with them, how many and how many go unanswered (once prepared, the engine's report:
tokens per context and question, the vocabulary), and the first questions with their answers marked in their
contexts as the Playground marks a question answerer's."""

from __future__ import annotations

import html

from engine.run.humanlog import counted
from studio.state.qa_corpus import MarkedQuestion, QuestionsPreview
from studio.widgets.entity_marks import marked_html

LEAD = ("<b>Questions on contexts (question answering).</b> On the Model page, <i>span</i> trains an encoder to "
        "point at each answer's first and last token in its context, and at [CLS] where the context does not "
        "answer; Prepare trains the tokenizer on the contexts and questions.")
MOST_CHARS = 400
"""The context shown around its answer, in characters; a longer one is cut at both ends."""
NO_ANSWER = "<i style='color:#92400e'>The context does not answer it.</i>"


def excerpt(q: MarkedQuestion, most: int = MOST_CHARS) -> tuple[str, list[dict]]:
    """The context (at most `most` characters of it, around its answer) and its answer's mark there."""
    text, answer = q.context, q.answer
    if len(text) <= most:
        return text, [answer] if answer else []
    middle = (answer["start"] + answer["end"]) // 2 if answer else most // 2
    a = max(0, min(middle - most // 2, len(text) - most))
    b = a + most
    lead, tail = ("…" if a else ""), ("…" if b < len(text) else "")
    cut = lead + text[a:b] + tail
    if not answer:
        return cut, []
    shift = len(lead) - a
    return cut, [{**answer, "start": answer["start"] + shift, "end": answer["end"] + shift}]


def question_html(q: MarkedQuestion) -> str:
    context, marks = excerpt(q)
    return f"<b>{html.escape(q.question)}</b><br>{marked_html(context, marks)[0]}" + ("" if marks else
                                                                                     f"<br>{NO_ANSWER}")


def qa_html(preview: QuestionsPreview | None, report: list[str]) -> str:
    if preview is None:
        return ""
    what = [html.escape(line) for line in report] or [
        f"{counted(preview.questions, 'question')} on {counted(preview.contexts, 'context')}; "
        f"{preview.unanswerable:,} the context does not answer"]
    first = "".join(f"<li>{question_html(q)}</li>" for q in preview.first)
    return f"{LEAD}<br>{'<br>'.join(what)}<ul>{first}</ul>"
