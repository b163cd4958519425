"""A few-shot task file and its prompts, no torch: JSONL rows holding a `question` and either `choices` (a list)
with the `answer` as an index or as one of the choices' texts (multiple choice), or an `answer` text alone
(exact match of a greedy answer).

A prompt is k other rows of the file, drawn reproducibly, each shown as an example, then the asked row's
question (engine/core/fewshot_layout.py). Every problem of a file is found before any is said, one sentence
each, naming the file and the line.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from engine.core.errors import UserError
from engine.core.fewshot_layout import QUESTION, shown

DEFAULT_SHOTS = (0, 1, 2, 4, 8)
DEFAULT_SEED = 1234
"""lm-evaluation-harness's own few-shot seed."""
FEWSHOT_OBJECTIVES = ("causal", "instruct")
"""The runs a prompt is asked of: a decoder that continues text (engine/infer/fewshot.py checks the model)."""


@dataclass(frozen=True)
class TaskRow:
    question: str
    answer: str
    """The right answer's text (a multiple-choice row's index is turned into its choice)."""
    choices: tuple[str, ...] | None
    """None for a free answer, scored by exact match."""
    line: int

    @property
    def gold(self) -> int:
        """The right choice's index."""
        return self.choices.index(self.answer)

    def shown(self) -> str:
        """This row as an in-context example."""
        return shown(self.question, self.answer)


@dataclass(frozen=True)
class Task:
    path: Path
    rows: list[TaskRow]

    @property
    def multiple_choice(self) -> bool:
        return self.rows[0].choices is not None

    @property
    def name(self) -> str:
        return self.path.stem


def read_task(path: str | Path) -> Task:
    """The rows of a task file, or a UserError listing every problem, one sentence each."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"task file not found: {path}" if not path.exists() else
                        f"{path} is a folder: name a JSONL task file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise UserError(f"{path.name} is not UTF-8 text: a task file is JSONL, one row a line") from None
    rows, problems = [], []
    for n, line in enumerate(lines, 1):
        if line.strip():
            row, problem = _row(line, f"{path.name} line {n}", n)
            rows.append(row) if row else problems.append(problem)
    if not rows and len(problems) > 1 and all(" is not JSON (" in p for p in problems):  # another kind of file
        problems = [f"{path.name} is not JSONL ({problems[0].split(' is not JSON ', 1)[1][1:-1]} on its first "
                    f"line): a task file holds one JSON object a line, with a question and an answer"]
    if not rows and not problems:
        problems.append(f"{path.name} holds no rows: a task file is JSONL with a question and an answer (and "
                        f"choices for multiple choice) on each line")
    kinds = {row.choices is None for row in rows}
    if len(kinds) > 1:
        first_free = next(r for r in rows if r.choices is None)
        first_choice = next(r for r in rows if r.choices is not None)
        problems.append(f"{path.name} mixes multiple choice (line {first_choice.line}) with free answers (line "
                        f"{first_free.line}): a task's rows all have choices, or none has")
    if problems:
        raise UserError(problems[0] if len(problems) == 1 else f"{len(problems)} problems in {path.name}",
                        problems=problems)
    return Task(path, rows)


def _row(line: str, where: str, n: int) -> tuple[TaskRow | None, str | None]:
    """The row of one line, or the sentence that says what is wrong with it."""
    try:
        row = json.loads(line)
    except ValueError as e:
        return None, f"{where} is not JSON ({e.msg} at column {e.colno})"
    if not isinstance(row, dict):
        return None, f"{where} is not an object with a question and an answer"
    missing = [key for key in ("question", "answer") if row.get(key) in (None, "")]
    if missing:
        return None, f"{where} has no {' and no '.join(missing)}: each row needs both"
    if not isinstance(row["question"], str):
        return None, f"{where}: the question is not a text"
    choices, answer = row.get("choices"), row["answer"]
    if choices is None:
        if isinstance(answer, (int, float)) and not isinstance(answer, bool):
            answer = str(answer)  # 42 is the text "42": a greedy answer is compared as text
        if not isinstance(answer, str) or not answer.strip():
            return None, f"{where}: a row without choices needs its answer as a text (it is {answer!r})"
        return TaskRow(row["question"], answer, None, n), None
    if not isinstance(choices, list) or len(choices) < 2 or not all(isinstance(c, str) and c for c in choices):
        return None, f"{where}: choices must be a list of at least two non-empty texts"
    if len(set(choices)) < len(choices):
        return None, f"{where}: a choice is there twice; each must differ"
    if isinstance(answer, int) and not isinstance(answer, bool):
        if not 0 <= answer < len(choices):
            return None, f"{where}: the answer {answer} is not among the choices (an index from 0 to " \
                         f"{len(choices) - 1})"
        return TaskRow(row["question"], choices[answer], tuple(choices), n), None
    if answer not in choices:
        return None, f"{where}: the answer {answer!r} is not among the choices"
    return TaskRow(row["question"], answer, tuple(choices), n), None


def parse_shots(text: str) -> list[int]:
    """"0,1,2,4,8" as sorted distinct numbers of examples, or a UserError saying what is wrong."""
    try:
        shots = sorted({int(k) for k in text.replace(",", " ").split()})
    except ValueError:
        raise UserError(f"--shots takes numbers of examples separated by commas, such as 0,1,2,4,8; not "
                        f"{text!r}") from None
    if not shots:
        raise UserError("--shots is empty: give the numbers of examples, such as 0,1,2,4,8")
    if shots[0] < 0:
        raise UserError(f"--shots {shots[0]} is negative: a prompt holds 0 or more examples")
    return shots


def check_enough_rows(task: Task, shots: list[int]) -> None:
    """The most examples asked must fit among the other rows: the asked row is never its own example."""
    if max(shots) > len(task.rows) - 1:
        raise UserError(f"--shots {max(shots)} needs {max(shots) + 1} rows (the examples and the row asked), but "
                        f"{task.path.name} has {len(task.rows)}: ask for fewer shots or add rows")


def example_order(n_rows: int, index: int, seed: int) -> list[int]:
    """The other rows in the order row `index` takes its examples from: a k-shot prompt takes the first k, so
    the examples of fewer shots are among those of more. A pure function of (seed, index): the same prompts
    at every call, whatever else is asked (string seeds are hashed the same way in every Python process)."""
    others = [i for i in range(n_rows) if i != index]
    random.Random(f"fewshot-{seed}-{index}").shuffle(others)
    return others


def context(task: Task, index: int, k: int, seed: int) -> str:
    """The prompt for row `index` with k examples, up to "Answer:" (its answer follows after DELIMITER)."""
    examples = example_order(len(task.rows), index, seed)[:k]
    return "".join(task.rows[i].shown() for i in examples) + QUESTION.format(question=task.rows[index].question)
