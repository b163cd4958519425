"""The corpus suite of `bench/speedrun.py --suite`: text of different kinds, so that speed is not tuned to one corpus.

Each corpus is made reproducibly (the same bytes at every build on a machine) from what every machine has or the
engine generates, plus ../shared/data where present (read there; a smaller size is cut into the build folder,
never into the repository). Where a machine lacks a source the corpus is skipped, with why:
- prose: Tiny Shakespeare (../shared/data/tinyshakespeare.txt), character level;
- names: Unicode's character names (Python's unicodedata, the same on every machine with this Python), one a line,
  shuffled with a fixed seed: short lines, like a file of names or titles (/usr/share/dict/words is not on
  every machine, so it is not used);
- code: the Python standard library's own modules, sorted by name, up to the size (the engine's python-stdlib
  demo corpus);
- table: CSV-like rows (date, city, product, units, price, total) generated with a fixed seed, read as text;
- man: the manual's section 1 pages (/usr/share/man/man1, gzipped roff, sorted by name; comment lines dropped),
  where `man`'s files are installed: which pages a machine has differs, so its listing gives a checksum;
- prose-bpe: the prose corpus with a byte-level BPE tokenizer of 1,024 tokens.
`held_out` marks the corpora kept out of tuning the engine's defaults: a choice is checked on them afterwards.

    python bench/corpora.py [--out DIR] [--size BYTES]    # builds them and prints one JSON line each
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import sys
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED_DATA = ROOT.parent / "shared" / "data"
MAN_PAGES = Path("/usr/share/man/man1")
SIZE = 1_115_394
"""Characters a corpus is built to by default: Tiny Shakespeare's size, so that the prose is the whole of it."""


class Missing(Exception):
    """This machine lacks the corpus's source; the message says which."""


def _cut(text: str, size: int) -> str:
    """At most `size` characters, cut at a line's end so that no record is torn."""
    if len(text) <= size:
        return text
    end = text.rfind("\n", 0, size)
    return text[: end + 1 if end > 0 else size]


def prose(folder: Path, size: int) -> Path:
    source = SHARED_DATA / "tinyshakespeare.txt"
    if not source.is_file():
        raise Missing(f"{source} is not on this machine")
    text = source.read_text(encoding="utf-8")
    if len(text) <= size:
        return source  # read where it is
    return _write(folder / "prose.txt", _cut(text, size))


def names(folder: Path, size: int) -> Path:
    """Unicode's named characters, less those named by their code point (CJK IDEOGRAPH-4E00, HANGUL SYLLABLE ...)."""
    found = (unicodedata.name(chr(c), "") for c in range(0x110000))
    lines = [n for n in found if n and not n.startswith(("CJK ", "HANGUL SYLLABLE ", "TANGUT ", "KHITAN ",
                                                           "NUSHU ", "EGYPTIAN HIEROGLYPH "))]
    random.Random(0).shuffle(lines)
    return _write(folder / "names.txt", _cut("\n".join(lines) + "\n", size))


def code(folder: Path, size: int) -> Path:
    from engine.demo.generated import stdlib_text

    return _write(folder / "code.txt", _cut(stdlib_text(size), size))


CITIES = ("Lagos", "Lima", "Oslo", "Kyoto", "Quito", "Hanoi", "Dublin", "Cairo", "Vienna", "Perth", "Austin", "Pune")
PRODUCTS = {"pencil": 0.45, "notebook": 2.9, "stapler": 7.5, "ruler": 1.2, "eraser": 0.6, "folder": 1.75,
            "marker": 1.1, "glue": 2.3, "scissors": 4.8, "tape": 1.9, "calculator": 12.0, "backpack": 24.5}


def table(folder: Path, size: int) -> Path:
    """Sales rows: their fields depend on each other (the total is units x price, the price is the product's, up to
    a discount), as a real table's do."""
    rng = random.Random(0)
    rows, total = ["date,city,product,units,unit_price,total"], 0
    while total < size:
        product = rng.choice(list(PRODUCTS))
        price = round(PRODUCTS[product] * rng.choice((1.0, 1.0, 1.0, 0.9, 0.8)), 2)
        units = rng.choice((1, 1, 2, 3, 5, 10, 12, 20, 24, 50))
        rows.append(f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},{rng.choice(CITIES)},{product},"
                    f"{units},{price:.2f},{units * price:.2f}")
        total += len(rows[-1]) + 1
    return _write(folder / "table.txt", _cut("\n".join(rows) + "\n", size))


def man(folder: Path, size: int) -> Path:
    pages = sorted(MAN_PAGES.glob("*.gz")) if MAN_PAGES.is_dir() else []
    if not pages:
        raise Missing(f"no manual pages in {MAN_PAGES} on this machine")
    parts, total = [], 0
    for page in pages:
        try:
            text = gzip.decompress(page.read_bytes()).decode("utf-8")
        except (OSError, UnicodeDecodeError, EOFError):
            continue
        kept = "\n".join(line for line in text.splitlines() if not line.startswith(('.\\"', "'\\\"")))
        if kept.startswith(".so ") or len(kept) < 200:  # a redirection to another page, or next to nothing
            continue
        parts.append(kept)
        total += len(kept) + 2
        if total >= size:
            break
    return _write(folder / "man.txt", _cut("\n\n".join(parts) + "\n", size))


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@dataclass(frozen=True)
class SuiteCorpus:
    name: str
    kind: str
    """What a user's corpus it stands for."""
    make: Callable[[Path, int], Path]
    """Writes the text into a folder at about a size in bytes (or returns where it already is); raises Missing."""
    documents: str = "paragraph"
    tokenizer: dict = field(default_factory=lambda: {"kind": "char"})
    held_out: bool = False
    """Kept out of tuning the engine's defaults: checked on afterwards."""

    def settings(self, path: Path, cache_dir: str = "") -> dict:
        """Its [data] and [tokenizer]: all a run on it is given besides its time budget."""
        data = {"path": str(path), "documents": self.documents} | ({"cache_dir": cache_dir} if cache_dir else {})
        return {"data": data, "tokenizer": dict(self.tokenizer)}

    def config_toml(self, path: Path, cache_dir: str = "") -> str:
        from engine.core.tomlio import dumps_toml

        return dumps_toml({"meta": {"name": f"suite-{self.name}"}, **self.settings(path, cache_dir)})


SUITE = (
    SuiteCorpus("prose", "prose", prose),
    SuiteCorpus("names", "short lines (names, titles)", names, documents="line"),
    SuiteCorpus("code", "source code", code),
    SuiteCorpus("table", "table text (CSV rows)", table, documents="line", held_out=True),
    SuiteCorpus("man", "manual pages (roff)", man, held_out=True),
    SuiteCorpus("prose-bpe", "prose, byte-level BPE", prose, tokenizer={"kind": "bpe", "vocab_size": 1024}),
)
BY_NAME = {c.name: c for c in SUITE}


def build(folder: Path, size: int = SIZE, only: list[str] | None = None) -> list[tuple[SuiteCorpus, Path | None, str]]:
    """Each corpus of the suite (or those named) built into `folder`: (corpus, its file, "") or (corpus, None, why
    it was skipped)."""
    unknown = sorted(set(only or []) - set(BY_NAME))
    if unknown:
        raise SystemExit(f"no corpus {', '.join(unknown)} in the suite; choose among {', '.join(BY_NAME)}")
    built = []
    for corpus in (BY_NAME[n] for n in only) if only else SUITE:
        try:
            built.append((corpus, corpus.make(Path(folder), size), ""))
        except Missing as why:
            built.append((corpus, None, str(why)))
    return built


def describe(corpus: SuiteCorpus, path: Path | None, skipped: str) -> dict:
    """One JSON-ready line: the corpus, its settings, and its size and checksum (to compare builds across runs)."""
    line = {"corpus": corpus.name, "kind": corpus.kind, "held_out": corpus.held_out}
    if path is None:
        return line | {"skipped": skipped}
    data = path.read_bytes()
    return line | corpus.settings(path) | {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()[:16]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", help="where to build them (default: a new temporary folder)")
    ap.add_argument("--size", type=int, default=SIZE)
    ap.add_argument("--corpora", help="a comma-separated selection (default: all)")
    a = ap.parse_args()
    folder = Path(a.out) if a.out else Path(tempfile.mkdtemp(prefix="as-corpora-"))
    for built in build(folder, a.size, a.corpora.split(",") if a.corpora else None):
        print(json.dumps(describe(*built)), flush=True)


if __name__ == "__main__":
    main()
