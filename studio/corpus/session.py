"""The Corpus page as the user left it, as plain data the window keeps between sessions, and back."""

from __future__ import annotations

from pathlib import Path

READING = ("path", "text_column", "documents", "val_fraction", "normalize", "collapse_whitespace", "dedupe",
           "min_chars")


def corpus_state(page) -> dict:
    """Source, reading and tokenizer options, and whether the corpus was prepared."""
    cfg = page.data_config()
    return {"data": {k: getattr(cfg.data, k) for k in READING},
            "tokenizer": {"kind": cfg.tokenizer.kind, "vocab_size": cfg.tokenizer.vocab_size,
                          "path": cfg.tokenizer.path},
            "prepared": page.tokenizer is not None}


def restore_corpus(page, state: dict) -> bool:
    """Show a remembered state again (prepared again, from the cache, if it was); False if its source is gone."""
    d, t = state.get("data") or {}, state.get("tokenizer") or {}
    if not d.get("path") or not Path(d["path"]).exists():
        return False
    page.val_fraction.setValue(float(d.get("val_fraction", 0.1)))
    page.normalize.setChecked(d.get("normalize") == "NFC")
    page.whitespace.setChecked(bool(d.get("collapse_whitespace")))
    page.dedupe.setChecked(bool(d.get("dedupe")))
    page.min_chars.setValue(int(d.get("min_chars", 0)))
    page.kind.setCurrentText(t.get("kind", "char"))
    page.vocab_size.setValue(int(t.get("vocab_size", 8192)))
    page.tokenizer_file.setText(t.get("path", ""))
    page.documents.setCurrentIndex(max(0, page.documents.findData(d.get("documents", "paragraph"))))
    page.set_sources([Path(d["path"])])
    if d.get("text_column") and d["text_column"] != page.column.currentText():
        page.column.setCurrentText(d["text_column"])
        page.load_preview()
    if state.get("prepared"):
        page.prepare()
    return True
