"""Texts that fit the chosen run: default prompts taken from its own validation data, and a warning when a
typed text holds characters its vocabulary does not know (they would silently become <unk>)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from engine.run.folder import TOKENIZER_FILE

MAX_PROMPT = 60


def run_text(store, run_dir: Path | None) -> str:
    """The start of the run's validation data (from its `started` event, or its recorded probe tokens)."""
    if run_dir is None:
        return ""
    state = store.runs.get(Path(run_dir))
    if state is not None and state.val_text:
        return state.val_text
    try:
        return "".join(json.loads((Path(run_dir) / "attention" / "tokens.json").read_text())["tokens"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def default_prompt(text: str, objective: str) -> str:
    """A prompt from the corpus: its first whole line (a name, a verse line, a sentence), which the model
    continues and then goes on from; a masked model gets one word of it masked; an encoder's framing ([CLS] ...
    [SEP], around a tagger's sentence) is left out."""
    lines = text.split("\n")
    whole = [ln for ln in lines[1:-1] if ln.strip()] or [ln for ln in lines if ln.strip()]
    if not whole:
        return ""
    line = whole[0].strip().removeprefix("[CLS]").removesuffix("[SEP]").strip()
    if len(line) > MAX_PROMPT:
        line = line[:MAX_PROMPT].rsplit(" ", 1)[0]
    if objective == "masked":
        words = line.split(" ")
        if len(words) > 1:
            words[len(words) // 2] = "[MASK]"
            line = " ".join(words)
    return line


def context_and_question(text: str) -> tuple[str, str]:
    """A question answerer's (span) default context and question: those of its first validation window, which reads
    `[CLS] question [SEP] context [SEP]`; ("", "") when the text is not framed so."""
    parts = [part.strip() for part in text.strip().removeprefix("[CLS]").split("[SEP]")]
    return (parts[1], parts[0]) if len(parts) > 1 and all(parts[:2]) else ("", "")


@lru_cache(maxsize=8)
def _tokenizer(path: str, mtime: float):
    from engine.data.tokenizer import Tokenizer

    return Tokenizer.load(path)


def unknown_note(run_dir: Path | None, text: str) -> str:
    """'' if the run's tokenizer knows every character of `text`, else a sentence naming those it does not."""
    if run_dir is None or not text:
        return ""
    path = Path(run_dir) / TOKENIZER_FILE
    try:
        tokenizer = _tokenizer(str(path), path.stat().st_mtime)
    except Exception:  # noqa: BLE001 (no tokenizer yet, or unreadable: nothing to warn about)
        return ""
    unknown = tokenizer.unknown_characters(text)
    if not unknown:
        return ""
    names = {" ": "the space", "\n": "the line break", "\t": "the tab"}
    shown = " ".join(names.get(c, repr(c)[1:-1]) for c in unknown[:12])
    more = f" and {len(unknown) - 12} more" if len(unknown) > 12 else ""
    return (f"This model's vocabulary does not know {shown}{more}: it reads them as <unk>, an unknown token. "
            f"Use characters from its corpus.")
