"""What runs shown together are called in a legend or a comparison: their names, and where several share a name
(runs of one form, say "demo" twice), the name with its folder, so that no curve hides behind another."""

from __future__ import annotations

from pathlib import Path


def run_labels(runs: list[tuple[Path, str]]) -> list[str]:
    """A label for each (folder, name), in order, no two alike."""
    names = [name for _, name in runs]
    return [name if names.count(name) == 1 else f"{name} ({Path(path).name})" for path, name in runs]
