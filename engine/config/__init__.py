"""The run's config: the schema (typed dataclasses, TOML in and out), the rules that check it, one value's
reading. No torch; the schema imports neither the rules nor anything above it."""
