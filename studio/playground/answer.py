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


def missing_input(context: str, question: str) -> str:
    """What a question answerer still needs before it is asked ("" when both are there), as a sentence."""
    if not context.strip():
        return "Type a context first: the paragraph the model looks for the answer in."
    if not question.strip():
        return "Type a question first: the model looks for its answer in the context."
    return ""
