"""How the configs of the runs picked on the Runs page differ: a line a field, only where it does something."""

from __future__ import annotations

IDLE = "(not used)"


def config_differences(configs: dict[str, dict]) -> list[str]:
    """Lines `section.key: a | b | c` for every value that differs between the named configs."""
    names = list(configs)
    lines = []
    keys = sorted({(s, k) for c in configs.values() for s, d in c.items() if isinstance(d, dict) for k in d})
    for section, key in keys:
        if section == "meta" or key in ("out_dir", "cache_dir"):
            continue
        values = [IDLE if unused(configs[n], section, key) else configs[n].get(section, {}).get(key) for n in names]
        if any(v != values[0] for v in values[1:]):
            lines.append(f"{section}.{key}: " + " | ".join(f"{n} {v}" if v is IDLE else f"{n}={v!r}"
                                                            for n, v in zip(names, values)))
    return lines


def unused(config: dict, section: str, key: str) -> bool:
    """A field this config's other choices make idle: a character vocabulary is what the corpus holds, and only a
    tokenizer of kind "file" reads a path (two char runs do not differ by tokenizer.vocab_size)."""
    kind = config.get("tokenizer", {}).get("kind")
    return section == "tokenizer" and (key == "vocab_size" and kind in ("char", "file") or
                                       key == "path" and kind != "file")
