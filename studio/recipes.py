"""The built-in recipes (resources/recipes/NAME.toml) and the curves measured with them (NAME.reference.json).

A curve is drawn behind a run of the same name only when the run reads the corpus the curve was measured on,
with the same kind of tokenizer. The reference says which: `corpus` (a file name or a built-in `demo:` corpus,
which the Help menu's demos write under the demo's own file name), `corpus_sha256` where the file is known byte
for byte (so that a copy under another name matches too), `tokenizer`, and, in words, `corpus_name` and
`corpus_hint` (where to find it). A curve of Tiny Shakespeare behind a run on other text would compare nothing."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from engine.config import schema as C
from engine.demo import demo_path
from engine.demo.runs import RECIPES


@cache
def reference_curve(name: str) -> dict | None:
    """The measured curve of the recipe (or demo) called `name`, if there is one."""
    try:
        return json.loads((RECIPES / f"{name}.reference.json").read_text())
    except (OSError, ValueError):
        return None


@cache
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """The file's digest; size and time are in the key so that an edited file is read again."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _reads(path: str, ref: dict) -> bool:
    """Whether a run whose data.path is `path` reads the corpus `ref` was measured on."""
    corpus = ref.get("corpus")
    if corpus is None:
        return True  # a reference that does not say is drawn, as before references said
    if corpus.startswith("demo:"):  # the generated corpus, read by name or as the Help menu's demo writes it
        return path == corpus or Path(path).name in (corpus, demo_path(corpus.removeprefix("demo:"), ".").name)
    if not ref.get("corpus_sha256"):
        return path == corpus or Path(path).name == corpus
    try:
        st = Path(path).stat()
        return st.st_size == ref.get("corpus_bytes", st.st_size) and \
            _sha256(str(Path(path).resolve()), st.st_size, st.st_mtime_ns) == ref["corpus_sha256"]
    except OSError:  # a folder, a file gone or unreadable: not the measured one
        return False


def mismatch(cfg: C.RunConfig) -> str | None:
    """Why the curve named like `cfg` does not compare with it ("" when it does; None when there is no curve)."""
    ref = reference_curve(cfg.name) if cfg.name else None
    if ref is None:
        return None
    if not _reads(cfg.data.path, ref):
        here = Path(cfg.data.path).name if cfg.data.path else "no corpus yet"
        return f"it was measured on {ref['corpus']} and this run reads {here}"
    if ref.get("tokenizer") and cfg.tokenizer.kind != ref["tokenizer"]:
        return f"it was measured with the {ref['tokenizer']} tokenizer and this run uses {cfg.tokenizer.kind}"
    return ""


def reference_for(cfg: C.RunConfig) -> dict | None:
    """The measured curve to draw behind a run of `cfg`, or None."""
    return reference_curve(cfg.name) if mismatch(cfg) == "" else None


def reference_note(cfg: C.RunConfig) -> str:
    """One sentence for the Model page about the curve the Train page will draw behind this run ("" if none)."""
    why = mismatch(cfg)
    if why is None:
        return ""
    ref = reference_curve(cfg.name)
    if why:
        hint = f" ({ref['corpus_hint']})" if ref.get("corpus_hint") else ""
        return (f"The {cfg.name} recipe's measured curve is not drawn behind this run: {why}. To compare with it, "
                f"choose {ref.get('corpus_name', ref['corpus'])} on the Corpus page{hint}.")
    end = f" (validation loss {ref['val_loss'][-1]:.3f} at step {ref['steps'][-1]:,})" if ref.get("val_loss") else ""
    return f"The {cfg.name} recipe's measured curve{end} is drawn faintly behind this run on the Train page."
