"""Corpora: loading through `datasets`, cleaning, tokenizers, encoding to token files, batches."""
