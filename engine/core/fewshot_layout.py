"""How a few-shot prompt is laid out, as lm-evaluation-harness lays out its tasks (doc_to_text "Question: ...\\n
Answer:", target_delimiter " ", fewshot_delimiter "\\n\\n"). In the lowest layer because two write it: the task
reader's prompts (engine/data/fewshot_task.py) and the demo corpus that teaches a model to read them
(engine/demo/fewshot.py)."""

QUESTION = "Question: {question}\nAnswer:"
"""The asked row; its answer follows after DELIMITER."""
DELIMITER = " "
"""Between "Answer:" and the answer."""
EXAMPLE_END = "\n\n"
"""After each in-context example."""


def shown(question: str, answer: str) -> str:
    """A question and its answer as an in-context example."""
    return QUESTION.format(question=question) + DELIMITER + answer + EXAMPLE_END
