"""One way out for the command line and the inference worker: a Hugging Face folder or a GGUF file,
chosen by --format or by the name (a name ending in .gguf is a GGUF file)."""

from __future__ import annotations

from pathlib import Path

from engine.core.errors import UserError
from engine.interop.families import TITLES, family_of
from engine.interop.gguf_export import ARCHS, export_gguf
from engine.interop.hf import export_model
from engine.model.checkpoint import all_finite

FORMATS = ("hf", "gguf")


def export_format(out: str | Path, format: str | None = None) -> str:
    """hf or gguf: as asked, else by the name."""
    return format or ("gguf" if str(out).endswith(".gguf") else "hf")


def export_any(model, tokenizer, out: str | Path, *, format: str | None = None, dtype: str = "f16",
               labels: list[str] | None = None, chat_template: str | None = None) -> str:
    """Write the model, with the chat template it was trained in when it has one (chat_template_of, in
    engine/data/chat_template.py); returns what was written, in words. Weights that are not finite are refused."""
    fmt = export_format(out, format)
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    check_finite(model)
    if fmt == "gguf":
        path = export_gguf(model, tokenizer, out, dtype=dtype, chat_template=chat_template)
        return f"a GGUF file for llama.cpp ({ARCHS[family_of(model.config)]}, {dtype.upper()}) at {path}"
    path = export_model(model, tokenizer, out, labels=labels, chat_template=chat_template)
    return f"a Hugging Face {TITLES[family_of(model.config)]} folder at {path}"


def check_finite(model) -> None:
    """Refuse a model with NaN or inf weights: an export of a diverged run would be silently useless."""
    if not all_finite(model.state_dict().values()):
        raise UserError("the model's weights are not finite (NaN or inf): the run had diverged, so it is not "
                        "exported; export an earlier checkpoint (--checkpoint)")
