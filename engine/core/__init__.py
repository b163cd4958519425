"""The lowest layer: the error users see, TOML reading and writing, numbers as text. No torch, no config."""
