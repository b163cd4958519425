"""A fine-tune's run.toml describes the model that was trained: the source's architecture and tokenizer,
not the defaults (or other values) its config held, which the source overrides. Keys set otherwise are
named in a warning, so nobody believes they changed the model."""

from __future__ import annotations

from engine.config.schema import ModelConfig, RunConfig, TokenizerConfig
from engine.run.folder import TOKENIZER_FILE
from engine.run.source import describe_source

KEPT = ("block_size",)
"""Shape keys a fine-tune may set for itself (a context no longer than the source's)."""


def adopt_source_shape(cfg: RunConfig) -> list[str]:
    """Write the source's shape and tokenizer into `cfg`; returns a warning naming the settings it ignored."""
    shape = describe_source(cfg.finetune.source).shape
    model_defaults, tok_defaults = ModelConfig(), TokenizerConfig()
    ignored = []
    for key, value in shape.items():
        if key in KEPT or not hasattr(cfg.model, key):
            continue
        mine = getattr(cfg.model, key)
        if mine != value and mine != getattr(model_defaults, key):
            ignored.append(f"model.{key} = {mine!r} (the source has {value!r})")
        setattr(cfg.model, key, value)
    t = cfg.tokenizer
    if t.kind != tok_defaults.kind or t.vocab_size != tok_defaults.vocab_size or t.path:
        ignored.append(f"tokenizer.kind = {t.kind!r} (the source's tokenizer is kept)")
    t.kind, t.vocab_size, t.path = "file", tok_defaults.vocab_size, TOKENIZER_FILE  # the run folder's own copy
    return [f"a fine-tune keeps its source's architecture and tokenizer, so these settings were not used: "
            f"{'; '.join(ignored)}. The run's run.toml records the model as trained"] if ignored else []
