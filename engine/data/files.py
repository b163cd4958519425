"""Finding a corpus's files, checking they are readable text, and fingerprinting their content."""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from engine.config.schema import DEMO_PREFIX
from engine.core.errors import UserError
from engine.demo import demo_file
from engine.run.humanlog import counted

TEXT_SUFFIXES = {".txt": "text", ".text": "text", ".md": "text", ".markdown": "text", ".rst": "text",
                 ".py": "text"}
TABLE_SUFFIXES = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
SUFFIXES = TEXT_SUFFIXES | TABLE_SUFFIXES


@dataclass(frozen=True)
class CorpusFiles:
    """Either loose files grouped by `datasets` builder, or one `save_to_disk` folder."""

    by_builder: dict[str, list[Path]]
    saved_dataset: Path | None = None
    skipped: tuple[tuple[Path, str], ...] = ()
    """Files of a folder that are not read, each with the reason (binary, an unknown compressed kind)."""

    @property
    def all_files(self) -> list[Path]:
        return [f for files in self.by_builder.values() for f in files]

    @property
    def read(self) -> list[Path]:
        """Every file read: the loose files, or a saved dataset's whole folder."""
        return sorted(f for f in self.saved_dataset.rglob("*") if f.is_file()) if self.saved_dataset else \
            self.all_files

    @property
    def size(self) -> int:
        """Bytes on disk of what is read: what a time budget sizes a tokenizer's vocabulary by, before encoding."""
        return sum(f.stat().st_size for f in self.read)


def default_cache_dir() -> Path:
    return Path(os.environ.get("ATTENTION_STUDIO_CACHE", Path.home() / ".cache" / "attention-studio"))


def find_corpus_files(path: str | Path) -> CorpusFiles:
    """The files of a corpus file or folder; `demo:NAME` names a built-in demo corpus, made on first use."""
    if str(path).startswith(DEMO_PREFIX):
        path = demo_file(str(path)[len(DEMO_PREFIX):], default_cache_dir() / "demos")
    p = Path(path).expanduser()
    if not p.exists():
        raise UserError(f"corpus not found: {p} (check data.path)")
    if p.is_dir():
        if (p / "dataset_info.json").is_file() or (p / "state.json").is_file() or (p / "dataset_dict.json").is_file():
            return CorpusFiles({}, saved_dataset=p)
        groups: dict[str, list[Path]] = {}
        skipped = []
        for f in _folder_files(p):
            builder, why = file_kind(f)
            if builder:
                groups.setdefault(builder, []).append(f)
            else:
                skipped.append((f, why))
        if not groups:
            raise UserError(f"folder {p} holds no corpus files ({', '.join(sorted(SUFFIXES))}, plain text without "
                            f"an extension, or any of them .gz)" + (f"; {skip_summary(skipped)}" if skipped else ""))
        return CorpusFiles(groups, skipped=tuple(skipped))
    builder, why = file_kind(p)
    if builder is None:
        raise UserError(f"{p.name}: {why}; use one of {', '.join(sorted(SUFFIXES))}, plain text, or a .gz of them")
    return CorpusFiles({builder: [p]})


MOST_FOLDER_ENTRIES = 100_000
"""A corpus folder holds at most this many files and folders (hidden ones aside): more is taken for a folder that
is not a corpus's, such as / or a home folder, which would take minutes to search."""


def _folder_files(folder: Path) -> list[Path]:
    """The files under `folder`, sorted, hidden files and folders left out, unreadable entries passed over."""
    found, entries = [], 0
    for root, dirs, files in os.walk(folder, onerror=lambda error: None):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        entries += len(dirs) + len(files)
        if entries > MOST_FOLDER_ENTRIES:
            raise UserError(f"folder {folder} holds more than {MOST_FOLDER_ENTRIES:,} files and folders: choose the "
                            f"folder of your corpus's text (data.path)")
        for name in files:
            f = Path(root) / name
            try:
                if not name.startswith(".") and f.is_file():
                    found.append(f)
            except OSError:  # a special file system's entry (/proc) that cannot even be asked
                continue
    return sorted(found)


def file_kind(f: Path) -> tuple[str | None, str]:
    """(the `datasets` builder that reads `f`, "") or (None, why it cannot be read as a corpus)."""
    suffix = f.suffix.lower()
    if suffix in SUFFIXES:
        return SUFFIXES[suffix], ""
    if suffix == ".gz":  # `datasets` decompresses as it reads
        builder = SUFFIXES.get(Path(f.stem).suffix.lower(), "text")
        if builder == "parquet":
            return None, "a compressed Parquet file (Parquet compresses itself: give the .parquet)"
        if builder == "text" and not _gzip_looks_like_text(f):
            return None, "a compressed file that is not text"
        return builder, ""
    if not os.access(f, os.R_OK):
        return None, "not readable (its permissions)"
    if _looks_like_text(f):
        return "text", ""
    return None, f"unknown file type {suffix!r} that is not text" if suffix else "not text (binary)"


def skip_summary(skipped, most: int = 5) -> str:
    """'skipped 2 files: a.png (unknown file type '.png' that is not text), ...' naming the first few; "" for none."""
    if not skipped:
        return ""
    shown = ", ".join(f"{f.name} ({why})" for f, why in skipped[:most])
    more = f" and {len(skipped) - most} more" if len(skipped) > most else ""
    return f"skipped {counted(len(skipped), 'file')}: {shown}{more}"


def _gzip_looks_like_text(path: Path) -> bool:
    try:
        with gzip.open(path, "rb") as f:
            return b"\x00" not in f.read(4096)
    except (OSError, EOFError):
        return False


def check_text_file(path: Path, encoding: str = "utf-8") -> int:
    """Raise a UserError naming the problem if `path` is empty, binary or not in `encoding`; return its size
    (a .gz file is checked as what it holds)."""
    size = path.stat().st_size
    if size == 0:
        raise UserError(f"{path.name} is empty: add some text to it or pick another file")
    decoder = codecs.getincrementaldecoder(encoding)()
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        _decode_all(path, opener, decoder, encoding)
    except (OSError, EOFError) as e:  # a damaged .gz
        raise UserError(f"{path.name} cannot be read: {e}") from None
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise UserError(f"{path.name} ends in the middle of a {encoding} character: the file is truncated") from None
    return size


def _decode_all(path: Path, opener, decoder, encoding: str) -> None:
    """Decode the whole file chunk by chunk; a NUL byte or an invalid sequence is a UserError in words."""
    offset = 0
    with opener(path, "rb") as f:
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


def fingerprint(files: CorpusFiles, *extra: str) -> str:
    """A content hash of the corpus plus any options that change what is read from it."""
    h = hashlib.blake2b(digest_size=16)
    for f in files.read:
        h.update(f.name.encode() + b"\0")
        with open(f, "rb") as fh:
            while chunk := fh.read(1 << 22):
                h.update(chunk)
    for e in extra:
        h.update(b"\0" + e.encode())
    return h.hexdigest()


def _looks_like_text(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:  # unreadable: not taken as text (file_kind says why)
        return False
    return b"\x00" not in head


def peek_columns(path: str | Path) -> list[str]:
    """The column names of a JSONL/CSV/Parquet file, read from its first record; [] for text."""
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
            import pyarrow.parquet as pq  # heavy: only a Parquet file needs it

            return list(pq.read_schema(p).names)
    except (OSError, ValueError, UnicodeDecodeError):
        return []
    return []
