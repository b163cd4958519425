"""Numbers in words for people: counts, bytes and durations, as the CLI, the logs and the studio print them."""

import os


def human_count(n: float) -> str:
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f}{unit}"
    return f"{n:.0f}"


def human_bytes(n: float) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def human_seconds(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 60:
        return f"{s:.1f} s"
    if s < 600:  # minutes and seconds: "2 min" at 98 s read as the whole of a 2-minute budget
        minutes, seconds = divmod(round(s), 60)
        return f"{minutes} min" + (f" {seconds} s" if seconds else "")
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def engine_command() -> str:
    """How the user calls the engine, for the hints that tell them what to type next: `./dev engine` (the `dev`
    script exports ENGINE_COMMAND as the user typed it) or else `python -m engine`."""
    return os.environ.get("ENGINE_COMMAND", "").strip() or "python -m engine"
