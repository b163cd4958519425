"""`control` and `runs` on the command line: a running trainer asked to pause, resume, stop or checkpoint, and
a folder's runs listed. COMMANDS registers them (engine/core/commands.py)."""

from __future__ import annotations

from pathlib import Path

from engine.core.commands import Command
from engine.core.errors import UserError
from engine.core.text import human_seconds
from engine.run.control import request
from engine.run.folder import require_run_folder
from engine.run.runinfo import is_run_dir, list_runs, summarize


def cmd_control(args) -> int:
    s = summarize(require_run_folder(args.run_dir))
    if not s.live:
        raise UserError(f"{args.run_dir} is not running (status: {s.status})")
    request(args.run_dir, args.action)
    print(f"asked {args.run_dir} to {args.action}")
    return 0


def cmd_runs(args) -> int:
    if not Path(args.folder).is_dir():
        raise UserError(f"{args.folder} is not a folder" if Path(args.folder).exists() else
                        f"folder not found: {args.folder}")
    runs = list_runs(args.folder)
    if not runs and is_run_dir(Path(args.folder)):  # a run's own folder, not a folder of runs: that run
        print(f"{args.folder} is a run folder:")
        runs = [summarize(Path(args.folder).absolute())]
    if not runs:
        print(f"no runs in {args.folder}")
    for r in runs:
        best = f"{r.best_val_loss:.4f}" if r.best_val_loss is not None else "-"
        scores = (f"  accuracy {r.accuracy:.1%}" if r.accuracy is not None else "") + \
            (f"  macro-F1 {r.macro_f1:.3f}" if r.macro_f1 is not None else "")
        print(f"{r.path.name:30s} {r.status:12s} step {r.step}/{r.max_steps}  best val {best}{scores}  "
              f"{human_seconds(r.duration)}")
    return 0


def _control_arguments(sp) -> None:
    sp.add_argument("run_dir")
    sp.add_argument("action", choices=["pause", "resume", "stop", "checkpoint"])


def _runs_arguments(sp) -> None:
    sp.add_argument("folder", nargs="?", default="runs")


COMMANDS = [
    Command("control", cmd_control, "ask a running trainer to pause, resume, stop or checkpoint", _control_arguments),
    Command("runs", cmd_runs, "list the runs in a folder", _runs_arguments),
]
