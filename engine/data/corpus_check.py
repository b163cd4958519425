"""What the engine would refuse about a corpus, found before training without reading it whole: the path,
its kinds of file against the objective, the columns a table has. The Model page and `engine train` ask
this first, so a run that cannot start is refused on the form, not after the press of Train."""

from __future__ import annotations

from engine.config.schema import PAIR_OBJECTIVES, RunConfig
from engine.core.errors import UserError
from engine.data.chat_data import chat_file_problems, chat_files
from engine.data.files import find_corpus_files, peek_columns
from engine.data.pair_check import pair_problems
from engine.data.span_examples import span_file_problems
from engine.data.tagged import tagged_file_problems


def corpus_problems(cfg: RunConfig) -> list[str]:
    """Each problem in words, naming the field to change; [] when the corpus fits the run."""
    d, objective = cfg.data, cfg.model.objective
    if not d.path:
        return []  # validate() says so already
    try:
        files = find_corpus_files(d.path)
    except UserError as e:
        return [str(e)]
    if objective == "tag":  # tagged sentences, not a text column
        return tagged_file_problems(files)
    if chat_files(d.path) is not None:  # conversations, which the instruct objective reads
        return chat_file_problems(cfg)
    if objective == "span":  # questions on contexts, not a text column
        return span_file_problems(files)
    if files.saved_dataset is not None:
        return []  # its columns are checked when it is opened
    text_files = files.by_builder.get("text", [])
    tables = [f for builder, paths in files.by_builder.items() if builder != "text" for f in paths]
    problems = []
    pairs = objective in PAIR_OBJECTIVES
    if objective == "instruct" and text_files:
        problems.append(f"model.objective = \"instruct\" learns responses to prompts, but {text_files[0].name} is "
                        f"plain text: use a CSV, JSONL or Parquet corpus with columns {d.source_column!r} and "
                        f"{d.target_column!r}, or choose the causal objective")
    if objective == "classify" and text_files:
        problems.append(f"model.objective = \"classify\" learns a label for each text, but {text_files[0].name} is "
                        f"plain text: use a CSV, JSONL or Parquet corpus with columns {d.text_column!r} and "
                        f"{cfg.task.label_column!r}, or choose the causal or masked objective")
    for table in tables[:20]:
        columns = peek_columns(table)
        if not columns:
            continue  # unreadable or empty: loading names the line
        wanted = [(d.source_column, "data.source_column"), (d.target_column, "data.target_column")] if pairs \
            else [(d.text_column, "data.text_column")]
        if objective == "classify":
            wanted.append((cfg.task.label_column, "task.label_column"))
        for column, key in wanted:
            if column not in columns:
                problems.append(f"{table.name} has no column {column!r}; its columns are {', '.join(columns)}: set "
                                f"{key} to one of them")
        if not pairs and d.text_column not in columns and {d.source_column, d.target_column} <= set(columns):
            problems[-1] += (f" — or, since it holds {d.source_column} -> {d.target_column} pairs, choose the "
                             f"seq2seq or instruct objective")
        if pairs and not problems:
            problems += pair_problems(table, cfg)
        if problems:
            break
    return problems


def holds_pairs(d) -> bool:
    """Whether the corpus's (first) table has both of the pair's columns, data.source_column and target_column."""
    try:
        files = find_corpus_files(d.path)
    except UserError:
        return False
    tables = [f for builder, paths in files.by_builder.items() if builder != "text" for f in paths]
    return bool(tables) and {d.source_column, d.target_column} <= set(peek_columns(tables[0]))
