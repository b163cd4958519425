"""The Corpus page: choose text, preview it, measure it, and train or load a tokenizer."""
