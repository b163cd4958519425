"""Formats other tools read: Hugging Face transformers folders (and, to come, GGUF)."""
