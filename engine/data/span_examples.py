"""Questions on contexts for extractive question answering (`model.objective = "span"`): read and checked.

Three layouts are read as people share them:
- JSONL rows with `context`, `question` and the answer: `answer` (its text) with an optional `answer_start`
  (its character offset in the context; without one, the text's first occurrence), or `answers` as the Hugging
  Face squad dataset holds them ({"text": [...], "answer_start": [...]}) or as SQuAD does (a list of
  {"text", "answer_start"});
- CSV with the columns context, question, answer and optionally answer_start;
- SQuAD's own JSON (data, paragraphs with a context, qas with a question, answers and is_impossible), as it is.
A question its context does not answer (SQuAD 2.0) has `is_impossible` true, an empty `answer` or an empty answers
list. Every answer must lie in its context at its offset; anything else is refused in one sentence naming the
file and line (or the SQuAD entry).
"""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from engine.core.errors import UserError
from engine.data.files import CorpusFiles, check_text_file, find_corpus_files, peek_columns

CONTEXT, QUESTION, ANSWER, ANSWERS, START, IMPOSSIBLE = (
    "context", "question", "answer", "answers", "answer_start", "is_impossible")
EXAMPLE_ROW = '{"context": "Ada was born in London.", "question": "Where was Ada born?", "answer": "London"}'
LAYOUTS = (f"JSONL or CSV rows with {CONTEXT}, {QUESTION} and {ANSWER} (or {ANSWERS}), or SQuAD's JSON "
           f"(data, paragraphs, qas)")


@dataclass
class SpanExample:
    context: str
    question: str
    answers: list[str]
    """The gold answers' texts, the first one trained on; none: the context does not answer the question."""
    starts: list[int]
    """Each answer's character offset in the context."""


# ----- files ------------------------------------------------------------------------------------------
def read_span_examples(path: str | Path) -> list[SpanExample]:
    """Every question of a file or folder: CSV by its suffix, SQuAD's JSON by its layout, any other JSON as JSONL."""
    files = find_corpus_files(path)
    if problems := span_file_problems(files):
        raise UserError(problems[0])
    examples: list[SpanExample] = []
    for builder, paths in files.by_builder.items():
        for p in paths:
            check_text_file(p)
            examples += read_csv(p) if builder == "csv" else read_json(p)
    if not examples:
        raise UserError(f"{Path(str(path)).name} holds no questions")
    return examples


def span_file_problems(files: CorpusFiles) -> list[str]:
    """What reading would refuse, found from the files' kinds and first rows (the form says it early)."""
    if files.saved_dataset is not None:
        return [f"{files.saved_dataset.name} is a saved dataset: model.objective = \"span\" reads {LAYOUTS}"]
    for builder, paths in files.by_builder.items():
        if builder not in ("json", "csv"):
            return [f"{paths[0].name} is {'plain text' if builder == 'text' else f'a {builder} table'}: "
                    f"model.objective = \"span\" reads {LAYOUTS}"]
        for p in paths[:20]:
            columns = peek_columns(p)
            wanted = (CONTEXT, QUESTION) if builder == "json" else (CONTEXT, QUESTION, ANSWER)
            if columns and "data" not in columns and not set(wanted) <= set(columns):
                return [f"{p.name} has no {' or '.join(c for c in wanted if c not in columns)} "
                        f"{'column' if builder == 'csv' else 'field'} (it has {', '.join(columns)}): "
                        f"model.objective = \"span\" reads {LAYOUTS}"]
    return []


def _text(path: Path) -> str:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return f.read()


def read_json(path: Path) -> list[SpanExample]:
    """SQuAD's layout when the file is one JSON object with a data list, else JSONL rows."""
    text = _text(path)
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, dict) and "data" in whole:
        return read_squad(whole, path.name)
    if whole is not None and len(text.strip().splitlines()) > 1:
        raise UserError(f"{path.name} is one JSON value but not in SQuAD's layout (an object with a data list of "
                        f"paragraphs): write one question a line (JSONL), e.g. {EXAMPLE_ROW}")
    examples = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            raise UserError(f"{path.name} line {n} is not JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(row, dict):
            raise UserError(f"{path.name} line {n} is not a JSON object: each row holds a question, e.g. {EXAMPLE_ROW}")
        examples.append(row_example(row, f"{path.name} line {n}"))
    return examples


def read_csv(path: Path) -> list[SpanExample]:
    """CSV rows with the columns context, question, answer (empty: unanswerable) and optionally answer_start."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in (CONTEXT, QUESTION, ANSWER) if c not in (reader.fieldnames or [])]
        if missing:
            raise UserError(f"{path.name} has no {' or '.join(missing)} column: model.objective = \"span\" reads "
                            f"{LAYOUTS}")
        examples = []
        for row in reader:
            row = {k: v for k, v in row.items() if k is not None}
            start = (row.get(START) or "").strip()
            if start and not start.lstrip("-").isdigit():
                raise UserError(f"{path.name} line {reader.line_num}: answer_start {start!r} is not a whole number "
                                f"(a character offset in the context)")
            row[START] = int(start) if start else None
            examples.append(row_example(row, f"{path.name} line {reader.line_num}"))
    return examples


def read_squad(data: dict, name: str) -> list[SpanExample]:
    """SQuAD v1.1 or v2.0 as published: data[].paragraphs[].{context, qas[].{question, answers, is_impossible}}."""
    examples = []
    if not isinstance(data["data"], list):
        raise UserError(f"{name} is not in SQuAD's layout: its data is not a list of articles")
    for i, article in enumerate(data["data"]):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise UserError(f"{name} data[{i}] has no paragraphs list: SQuAD's layout is data, paragraphs, qas")
        for j, paragraph in enumerate(paragraphs):
            qas = paragraph.get("qas") if isinstance(paragraph, dict) else None
            if not isinstance(qas, list):
                raise UserError(f"{name} data[{i}].paragraphs[{j}] has no qas list: SQuAD's layout is data, "
                                f"paragraphs, qas")
            for k, qa in enumerate(qas):
                where = f"{name} data[{i}].paragraphs[{j}].qas[{k}]"
                if not isinstance(qa, dict):
                    raise UserError(f"{where} is not an object with a question and its answers")
                where += f" (id {qa['id']})" if qa.get("id") is not None else ""
                examples.append(row_example({**qa, CONTEXT: paragraph.get(CONTEXT)}, where))
    return examples


# ----- one row --------------------------------------------------------------------------------------
def row_example(row: dict, where: str) -> SpanExample:
    """One question checked: its context and question, and each answer found in the context at its offset."""
    for key in (CONTEXT, QUESTION):
        value = row.get(key)
        if not isinstance(value, str) or not value.strip():
            said = "no" if value is None else "an empty" if isinstance(value, str) else "a non-text"
            raise UserError(f"{where} has {said} {key}: each row holds a context, a question and its answer, e.g. "
                            f"{EXAMPLE_ROW}")
    context = row[CONTEXT]
    pairs = _answer_pairs(row, where)
    starts = [locate(context, text, start, where) for text, start in pairs]
    return SpanExample(context, row[QUESTION], [text for text, _ in pairs], starts)


def _answer_pairs(row: dict, where: str) -> list[tuple[str, int | None]]:
    """(text, offset or None) of each answer a row gives; [] for a question the context does not answer."""
    if row.get(IMPOSSIBLE) is True:
        return []
    if ANSWERS in row:
        given = row[ANSWERS]
        if isinstance(given, dict):  # the Hugging Face squad dataset: parallel lists
            texts, starts = given.get("text"), given.get(START)
            if not isinstance(texts, list) or not isinstance(starts, list) or len(texts) != len(starts):
                raise UserError(f"{where}: answers holds text and answer_start lists of one length each (as the "
                                f"Hugging Face squad dataset does), or is a list of {{\"text\", \"answer_start\"}}")
            given = [{"text": t, START: s} for t, s in zip(texts, starts)]
        if not isinstance(given, list) or not all(isinstance(a, dict) for a in given):
            raise UserError(f"{where}: answers is a list of {{\"text\": ..., \"answer_start\": ...}} objects")
        return [(_answer_text(a.get("text"), where), _offset(a.get(START), where)) for a in given]
    if ANSWER in row:
        text = row[ANSWER]
        if text is None or isinstance(text, str) and not text.strip():
            return []  # "": the context does not answer it
        return [(_answer_text(text, where), _offset(row.get(START), where))]
    raise UserError(f"{where} has no answer: give answer (its text, \"\" where the context does not answer) or "
                    f"answers, e.g. {EXAMPLE_ROW}")


def _answer_text(text, where: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise UserError(f"{where} has an answer that is {'empty' if isinstance(text, str) else 'not text'}: an "
                        f"answer is a piece of its context")
    return text


def _offset(start, where: str) -> int | None:
    if start is None:
        return None
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise UserError(f"{where}: answer_start {start!r} is not a character offset (a whole number, 0 or more)")
    return start


def locate(context: str, text: str, start: int | None, where: str) -> int:
    """Where the answer begins in its context: at `start`, checked, or its first occurrence."""
    if start is None:
        found = context.find(text)
        if found < 0:
            raise UserError(f"{where}: the answer {_short(text)} is not found in its context")
        return found
    if context[start:start + len(text)] != text:
        there = context[start:start + len(text)]
        raise UserError(f"{where}: the answer {_short(text)} is not at answer_start {start} of its context (there "
                        + (f"it reads {_short(there)})" if there else f"the context has ended: it is {len(context)} "
                           f"characters long)"))
    return start


def _short(text: str, most: int = 60) -> str:
    return repr(text if len(text) <= most else text[:most] + "…")
