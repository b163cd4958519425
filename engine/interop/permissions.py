"""Exported files get the permissions ordinary file creation gives (0644 and 0755 under a umask of 022): some
writers (safetensors' save_file) create their files readable by their owner alone, which the user did not ask
for and which breaks sharing a model with another account or a server."""

from __future__ import annotations

import os
from pathlib import Path


def current_umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux), else set back at once."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def as_created(path: str | Path) -> None:
    """Give `path`, and everything in it when it is a folder, the mode a new file or folder gets (0666 or 0777
    less the umask)."""
    mask = current_umask()
    path = Path(path)
    items = [path, *path.rglob("*")] if path.is_dir() else [path]
    for item in items:
        if item.is_symlink():
            continue
        os.chmod(item, (0o777 if item.is_dir() else 0o666) & ~mask)
