"""Loading a corpus as documents through the `datasets` library, offline, with its cache where we say.

The file suffix picks the generic builder (text, json, csv, parquet); text files are read one paragraph,
line or file per document (`data.documents`), so joining documents with `doc_separator` gives back the file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.config.schema import DataConfig
from engine.core.errors import UserError
from engine.data.files import CorpusFiles, check_text_file, find_corpus_files
from engine.data.table_check import table_problem

DOC_SEPARATOR = "\n\n"
SAMPLE_BY = {"paragraph": "paragraph", "line": "line", "file": "document"}
"""data.documents -> the `datasets` text builder's sample_by."""


def doc_separator(documents: str) -> str:
    """What stands between two documents in the token stream: a newline between lines, else a blank line."""
    return "\n" if documents == "line" else DOC_SEPARATOR


@dataclass
class Documents:
    """A corpus as a `datasets.Dataset` with one text column, and where it came from."""

    dataset: object
    column: str
    files: CorpusFiles

    def __len__(self) -> int:
        return len(self.dataset)

    def iter_text(self, batch: int = 1000) -> Iterator[list[str]]:
        for rows in self.dataset.iter(batch_size=batch):
            yield [t if isinstance(t, str) else ("" if t is None else str(t)) for t in rows[self.column]]


def load_documents(cfg: DataConfig, cache_dir: str | Path, extra_columns: tuple[str, ...] = (),
                   keys: tuple[str, ...] = ("data.text_column", "task.label_column")) -> Documents:
    """The corpus's documents; `extra_columns` (a label, a target) are kept beside the text of table files;
    `keys` name the settings of the text column and the extra ones (for messages)."""
    files = find_corpus_files(cfg.path)
    _quiet_datasets()
    import datasets  # heavy: the studio imports this module at start

    cache = str(Path(cache_dir) / "datasets")
    if files.saved_dataset is not None:
        ds = _load_saved(files.saved_dataset)
        ds = _columns(ds, (cfg.text_column, *extra_columns), files.saved_dataset.name, keys)
        return Documents(ds, cfg.text_column, files)
    parts = []
    for builder, paths in files.by_builder.items():
        for p in paths:
            if builder == "text" or builder in ("json", "csv"):
                check_text_file(p, cfg.encoding if builder == "text" else "utf-8")
            elif p.stat().st_size == 0:
                raise UserError(f"{p.name} is empty")
        kwargs = {"sample_by": SAMPLE_BY.get(cfg.documents, "paragraph"), "encoding": cfg.encoding} \
            if builder == "text" else {}
        try:
            ds = datasets.load_dataset(builder, data_files={"train": [str(p) for p in paths]}, split="train",
                                       cache_dir=cache, **kwargs)
        except Exception as e:  # datasets wraps parser errors in many types; say which file failed, and where
            where = next(filter(None, map(table_problem, paths)), None)
            raise UserError(where or f"could not read {', '.join(p.name for p in paths[:3])} as {builder}: "
                                     f"{_first_line(e)}") from None
        column = "text" if builder == "text" else cfg.text_column
        if builder == "text" and cfg.documents == "line":  # a blank line is no record
            ds = ds.filter(lambda rows: [bool(t.strip()) for t in rows["text"]], batched=True)
        if extra_columns and builder in ("text",):
            raise UserError(f"{paths[0].name} is plain text, but this objective reads the columns "
                            f"{cfg.text_column!r} and {extra_columns[0]!r} ({' and '.join(keys[:2])}): use a CSV, "
                            f"JSONL or Parquet file with them")
        ds = _columns(ds, (column, *extra_columns), paths[0].name, keys)
        if column != "text":
            ds = ds.rename_column(column, "text")
        parts.append(ds)
    if len(parts) == 1:
        return Documents(parts[0], "text", files)
    # files of several kinds: text as text, tables by their column, the text column as one string type
    parts = [ds.cast_column("text", datasets.Value("string")) for ds in parts]
    try:
        ds = datasets.concatenate_datasets(parts)
    except ValueError as e:  # e.g. a label column of another type in another kind of file
        raise UserError(f"the files of {Path(cfg.path).name} do not fit together "
                        f"({', '.join(files.by_builder)}): {_first_line(e)}") from None
    return Documents(ds, "text", files)


def _load_saved(path: Path):
    import datasets  # heavy: the studio imports this module at start

    try:
        ds = datasets.load_from_disk(str(path))
    except Exception as e:
        raise UserError(f"could not open the saved dataset {path}: {_first_line(e)}") from None
    if isinstance(ds, datasets.DatasetDict):
        ds = ds["train"] if "train" in ds else next(iter(ds.values()))
    return ds


def _columns(ds, columns: tuple[str, ...], source: str, keys: tuple[str, ...]):
    for column, key in zip(columns, keys):
        if column not in ds.column_names:
            raise UserError(f"{source} has no column {column!r}; its columns are {', '.join(ds.column_names)}: "
                            f"set {key} to one of them")
    return ds.select_columns(list(columns))


def warm_up() -> None:
    """Load a one-line text file and forget it: `datasets` imports most of what a load needs (its builders, the
    modules its streaming patches touch) only at the first load. For a caller that must have those imports
    made on its own thread before loads run on others (the studio's jobs, studio/jobs.py)."""
    with tempfile.TemporaryDirectory(prefix="as-warm-") as folder:
        path = Path(folder) / "warm.txt"
        path.write_text("warm\n", encoding="utf-8")
        load_documents(DataConfig(path=str(path)), folder)


def _quiet_datasets() -> None:
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    import datasets  # after the offline switches above: datasets reads them at import

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)  # a file it cannot read is said in our words


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return (text[-1] if text else type(e).__name__)[:200]
