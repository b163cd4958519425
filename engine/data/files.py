"""Finding a corpus's files, checking they are readable text, and fingerprinting their content."""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass
from pathlib import Path

from engine.errors import UserError

TEXT_SUFFIXES = {".txt": "text", ".text": "text", ".md": "text", ".markdown": "text", ".rst": "text",
                 ".py": "text"}
TABLE_SUFFIXES = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
SUFFIXES = TEXT_SUFFIXES | TABLE_SUFFIXES


@dataclass(frozen=True)
class CorpusFiles:
    """Either loose files grouped by `datasets` builder, or one `save_to_disk` folder."""

    by_builder: dict[str, list[Path]]
    saved_dataset: Path | None = None

    @property
    def all_files(self) -> list[Path]:
        return [f for files in self.by_builder.values() for f in files]


def find_corpus_files(path: str | Path) -> CorpusFiles:
    p = Path(path).expanduser()
    if not p.exists():
        raise UserError(f"corpus not found: {p} (check data.path)")
    if p.is_dir():
        if (p / "dataset_info.json").is_file() or (p / "state.json").is_file() or (p / "dataset_dict.json").is_file():
            return CorpusFiles({}, saved_dataset=p)
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES
                       and not any(part.startswith(".") for part in f.relative_to(p).parts))
        if not files:
            raise UserError(f"folder {p} holds no corpus files ({', '.join(sorted(SUFFIXES))})")
    else:
        if p.suffix.lower() not in SUFFIXES and not _looks_like_text(p):
            raise UserError(f"{p.name}: unknown file type {p.suffix!r}; use one of {', '.join(sorted(SUFFIXES))}")
        files = [p]
    groups: dict[str, list[Path]] = {}
    for f in files:
        groups.setdefault(SUFFIXES.get(f.suffix.lower(), "text"), []).append(f)
    return CorpusFiles(groups)


def check_text_file(path: Path, encoding: str = "utf-8") -> int:
    """Raise a UserError naming the problem if `path` is empty, binary or not in `encoding`; return its size."""
    size = path.stat().st_size
    if size == 0:
        raise UserError(f"{path.name} is empty: add some text to it or pick another file")
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            if b"\x00" in chunk:
                raise UserError(f"{path.name} looks binary (it holds NUL bytes), not text: pick a text file")
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as e:
                where = offset + e.start
                hint = ' (set data.encoding = "latin-1" if it is Latin-1, or convert it to UTF-8)' \
                    if encoding.lower().replace("-", "") == "utf8" else ""
                raise UserError(f"{path.name} is not valid {encoding} text: byte 0x{chunk[e.start]:02x} at "
                                f"offset {where}{hint}") from None
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise UserError(f"{path.name} ends in the middle of a {encoding} character: the file is truncated") from None
    return size


def fingerprint(files: CorpusFiles, *extra: str) -> str:
    """A content hash of the corpus plus any options that change what is read from it."""
    h = hashlib.blake2b(digest_size=16)
    paths = sorted(files.saved_dataset.rglob("*")) if files.saved_dataset else files.all_files
    for f in paths:
        if not f.is_file():
            continue
        h.update(f.name.encode() + b"\0")
        with open(f, "rb") as fh:
            while chunk := fh.read(1 << 22):
                h.update(chunk)
    for e in extra:
        h.update(b"\0" + e.encode())
    return h.hexdigest()


def _looks_like_text(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(4096)
    return b"\x00" not in head


def peek_columns(path: str | Path) -> list[str]:
    """The column names of a JSONL/CSV/Parquet file, read from its first record; [] for text."""
    import csv
    import json

    p = Path(path)
    suffix = p.suffix.lower()
    try:
        if suffix in (".jsonl", ".json"):
            with open(p, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        row = json.loads(line)
                        return list(row) if isinstance(row, dict) else []
        elif suffix == ".csv":
            with open(p, encoding="utf-8", newline="") as f:
                return next(csv.reader(f), [])
        elif suffix == ".parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(p).names)
    except (OSError, ValueError, UnicodeDecodeError):
        return []
    return []
