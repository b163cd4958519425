"""Helpers for GUI tests (the window fixtures live in tests/conftest.py)."""

from __future__ import annotations


def tiny_model(page, **train):
    """Fill the Model page with a model that trains in a few seconds."""
    f = page.form
    for key, value in dict(n_layer=1, n_head=2, n_embd=32, block_size=16).items():
        f.widget("model", key).setValue(value)
    values = dict(batch_size=4, max_steps=30, eval_interval=10, eval_batches=2, warmup_steps=2, threads=1,
                  sample_tokens=8) | train
    for key, value in values.items():
        f.widget("train", key).setValue(value)
    f.widget("train", "device").setCurrentText("cpu")
