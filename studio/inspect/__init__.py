"""The Inspect page: attention maps of any text, per layer and head, and across training."""
