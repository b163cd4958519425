"""A summary index kept beside the runs (runs/.index.json): each run's summary and config, with the sizes
and times of the files it was read from. A folder whose files have not changed is listed from the index
without reading its config or events, so a workspace of thousands of runs opens at once; a run that was
live is always read again (its trainer may have died without a word)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from engine.config import schema as config_mod
from engine.core.tomlio import write_atomic
from engine.run.folder import CHECKPOINTS_DIR, EVENTS_FILE, LOCK_FILE, RUN_FILE, STDOUT_FILE
from engine.run.runinfo import RunSummary, is_run_dir, summarize

INDEX_FILE = ".index.json"
INDEX_VERSION = 1
WATCHED = (RUN_FILE, EVENTS_FILE, LOCK_FILE, STDOUT_FILE, CHECKPOINTS_DIR)


def signature(run_dir: Path) -> list:
    out = []
    for name in WATCHED:
        try:
            st = (run_dir / name).stat()
            out.append([st.st_mtime_ns, st.st_size])
        except OSError:
            out.append(None)
    return out


def _entry(s: RunSummary, sig: list) -> dict:
    fields = {f.name: getattr(s, f.name) for f in dataclasses.fields(s) if f.name not in ("path", "config")}
    return {"sig": sig, "summary": fields | {"config": s.config.to_dict() if s.config else None}}


def _summary(run_dir: Path, entry: dict) -> RunSummary:
    fields = dict(entry["summary"])
    data = fields.pop("config")
    return RunSummary(path=run_dir, config=config_mod.from_dict(data) if data else None, **fields)


def indexed_runs(root: str | Path) -> list[RunSummary]:
    """The runs in `root`, as runinfo.list_runs gives them, read through the index and updating it."""
    root = Path(root)
    if not root.is_dir():
        return []
    try:
        saved = json.loads((root / INDEX_FILE).read_text())
        index = saved["runs"] if saved.get("version") == INDEX_VERSION else {}
    except (OSError, ValueError, KeyError, TypeError):
        index = {}
    out, fresh, changed = [], {}, False
    for d in sorted(root.iterdir()):
        if not d.is_dir() or not is_run_dir(d):
            continue
        sig, entry = signature(d), index.get(d.name)
        summary = None
        if entry and entry.get("sig") == sig and entry["summary"].get("status") not in ("running", "paused"):
            try:
                summary = _summary(d, entry)
            except (TypeError, ValueError, config_mod.UserError):  # an entry of another engine version
                summary = None
        if summary is None:
            summary, changed = summarize(d), True
            entry = _entry(summary, sig)
        fresh[d.name] = entry
        out.append(summary)
    if changed or set(fresh) != set(index):
        try:
            write_atomic(root / INDEX_FILE, json.dumps({"version": INDEX_VERSION, "runs": fresh}))
        except OSError:  # a read-only workspace still lists its runs
            pass
    return out
