"""The command line's path arguments, checked one way: a file to write, a folder to write into, a
workspace. Each check raises a UserError naming the flag before anything is read or written; the run
folder a command reads is checked by engine.run.folder.require_run_folder, a config by read_toml. No torch."""

from __future__ import annotations

from pathlib import Path

from engine.core.errors import UserError


def output_file(path: str | Path, flag: str = "--out", *, suffixes: tuple[str, ...] = (),
                beside: tuple[str, ...] = ()) -> Path:
    """A new file to write: not a folder, not an existing file (as export refuses), in a folder that
    exists. `suffixes`: the endings it may have; `beside`: suffixes of files written next to it (the
    same name with that suffix), which must not exist either."""
    path = Path(path)
    if suffixes and path.suffix not in suffixes:
        raise UserError(f"{flag} must end in {' or '.join(suffixes)}, got {path.name}")
    if path.is_dir():
        raise UserError(f"{flag} {path}: that is a folder; name a file")
    for p in [path, *(path.with_suffix(s) for s in beside)]:
        if p.exists() or p.is_symlink():
            raise UserError(f"{p} exists: choose a new file name, or delete it first")
    parent = path.parent
    if not parent.is_dir():
        raise UserError(f"{flag} {path}: " + (f"{parent} is a file, not a folder" if parent.exists() else
                                              f"the folder {parent} does not exist"))
    return path


def output_folder(path: str | Path, flag: str = "--out") -> Path:
    """A folder to write into (made if missing): not a file, nor under one."""
    path = Path(path)
    for p in [path, *path.parents]:
        if p.exists():
            if not p.is_dir():
                raise UserError(f"{flag} {path}: {p} is a file; name a folder" if p != path else
                                f"{flag} {path} is a file; name a folder")
            break
    return path


def workspace_folder(path: str | Path, flag: str = "--workspace", *, existing: bool = False) -> Path:
    """A workspace (made on first use): a folder, never a file; `existing`: one that must exist already (a
    command that only reads or runs its queue). Absolute, so that what its queue stores (each run's config and
    folder) holds wherever the trainer that reads it runs."""
    path = output_folder(Path(path).expanduser(), flag).absolute()
    if existing and not path.is_dir():
        raise UserError(f"{flag} {path} does not exist: `queue add` or `sweep` makes a workspace")
    return path
