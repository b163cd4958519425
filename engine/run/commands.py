"""`control`, `intervene` and `runs` on the command line: a running trainer asked to pause, resume, stop or
checkpoint, or to freeze, zero or re-initialise a part of its model, and a folder's runs listed. COMMANDS registers
them (engine/core/commands.py)."""

from __future__ import annotations

from pathlib import Path

from engine.config import schema as config_mod
from engine.config.interventions import ACTIONS, target_problem
from engine.core.commands import Command
from engine.core.errors import UserError
from engine.core.text import human_seconds
from engine.run.control import request, request_intervention
from engine.run.folder import RUN_FILE, require_run_folder
from engine.run.runinfo import is_run_dir, list_runs, summarize


def cmd_control(args) -> int:
    s = summarize(require_run_folder(args.run_dir))
    if not s.live:
        raise UserError(f"{args.run_dir} is not running (status: {s.status})")
    request(args.run_dir, args.action)
    print(f"asked {args.run_dir} to {args.action}")
    return 0


def cmd_intervene(args) -> int:
    """Checked against the run's model before it is sent; the trainer applies it before its next step."""
    action = next(a for a in ACTIONS if getattr(args, a))
    target = getattr(args, action)
    run_dir = require_run_folder(args.run_dir)
    cfg = config_mod.load(run_dir / RUN_FILE)
    m = cfg.model
    problem = target_problem(target, arch=cfg.arch, n_layer=m.n_layer, n_head=m.n_head,
                             n_encoder_layer=m.n_encoder_layer)
    if problem:
        raise UserError(f"cannot {action} {problem}")
    s = summarize(run_dir)
    if not s.live:
        raise UserError(f"{args.run_dir} is not training (status: {s.status}): to {action} {target} from step N, add "
                        f'[[train.interventions]] step = N, action = "{action}", target = "{target}" to its '
                        f"{RUN_FILE} and resume it")
    request_intervention(run_dir, action, target)
    print(f"asked {args.run_dir} to {action} {target} before its next step")
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


def _intervene_arguments(sp) -> None:
    sp.add_argument("run_dir")
    g = sp.add_mutually_exclusive_group(required=True)
    for action, what in (("freeze", "stop its weights changing"), ("zero", "zero its weights and keep them zero"),
                         ("reinit", "draw its weights again by the model's initialization")):
        g.add_argument(f"--{action}", metavar="PART", help=f"{what}: h.1.attn.head.2 (a head), h.1.attn, h.1.mlp "
                       "or h.1 (a layer)")


def _runs_arguments(sp) -> None:
    sp.add_argument("folder", nargs="?", default="runs")


COMMANDS = [
    Command("control", cmd_control, "ask a running trainer to pause, resume, stop or checkpoint", _control_arguments),
    Command("intervene", cmd_intervene, "ask a running trainer to freeze, zero or re-initialise a head, an MLP or "
            "a layer before its next step", _intervene_arguments),
    Command("runs", cmd_runs, "list the runs in a folder", _runs_arguments),
]
