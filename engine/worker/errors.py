"""What fails while the worker does a request, said in a sentence: the studio shows it as it is, so it never
carries an exception's name and raw text (engine/worker/serve.py answers every failure with it)."""

from __future__ import annotations

import os
from pathlib import Path


def in_words(e: Exception, op: str) -> str:
    """What went wrong while doing a request, as a sentence (never an exception's name and raw text)."""
    if isinstance(e, OSError) and e.filename:
        path = Path(os.fsdecode(e.filename))
        above = next((p for p in path.parents if p.exists()), None)
        if above is not None and not above.is_dir():
            said = f"{above} is a file, not a folder, so {path} cannot be reached"
        elif isinstance(e, NotADirectoryError | FileExistsError) and path.is_file():
            said = f"{path} is a file, not a folder"
        elif isinstance(e, FileNotFoundError):
            said = f"{path} does not exist" if path.parent.is_dir() else f"the folder {path.parent} does not exist"
        else:
            said = {NotADirectoryError: f"{path} is not a folder", IsADirectoryError: f"{path} is a folder, not a file",
                    FileExistsError: f"{path} already exists",
                    PermissionError: f"{path} may not be read or written (permission denied)"}.get(type(e))
            said = said or f"{path}: {(e.strerror or 'a system error').lower()}"
        return f"the {op} request failed: {said}"
    if isinstance(e, OSError):
        return f"the {op} request failed: the system said {(e.strerror or str(e) or 'nothing more').lower()}"
    if isinstance(e, KeyError):
        key = e.args[0] if e.args else "?"
        return f"the {op} request failed: the entry {key!r} was missing (a damaged or foreign file?)"
    if isinstance(e, ValueError):
        return f"the {op} request failed: {str(e).splitlines()[0] if str(e) else 'a value was out of place'}"
    return f"the {op} request failed inside the worker (a bug: its details are on the worker's stderr); " \
           f"the worker goes on serving"
