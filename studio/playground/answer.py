"""A question answerer's reply in the Playground: the answer as a mark in its context (the entity marks' kind, its
score on hover), and a line saying it with its score, or that the context does not answer the question, in the
words `engine predict` prints."""

from __future__ import annotations

from studio.state.qa_corpus import ANSWER_KIND


def answer_marks(result: dict) -> list[dict]:
    """The worker's span reply ({text, start, end, score, no_answer, windows}) as marks in the context: one, or none
    when the model finds no answer there."""
    if not result["text"]:
        return []
    return [{"kind": ANSWER_KIND, "text": result["text"], "start": result["start"], "end": result["end"],
             "score": result["score"]}]


def answer_line(result: dict) -> str:
    windows = f", read in {result['windows']} windows" if result.get("windows", 1) > 1 else ""
    if result["text"]:
        return f"Answer: {result['text']!r} (score {result['score']:.1%}{windows})"
    return (f"No answer: the context does not answer the question, the model finds (no-answer score "
            f"{result['no_answer']:.1%} over the best span's {result['score']:.1%}{windows})")


EMPTY_TEXT = {"tag": "Type a sentence first: the model marks the entities it finds in it.",
              "classify": "Type a text first: the model gives the probability of each label for it.",
              "span": "Type a context first: the paragraph the model looks for the answer in."}
"""What a run that predicts on a text says before anything is sent when the text is empty."""


def missing_input(objective: str, text: str, question: str = "") -> str:
    """What a run that predicts still needs before it is asked ("" when nothing is missing), as a sentence: the text
    (a question answerer's context), and a question answerer's question."""
    if not text.strip() and objective in EMPTY_TEXT:
        return EMPTY_TEXT[objective]
    if objective == "span" and not question.strip():
        return "Type a question first: the model looks for its answer in the context."
    return ""
