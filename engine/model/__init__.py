"""Transformer models: the decoder-only GPT in gpt.py."""
