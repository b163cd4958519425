"""`sweep` and `queue` on the command line: the same queue file the studio runs, so a sweep started here
shows in the studio and a queue filled there can be run here (one run after another)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from engine.core.errors import UserError
from engine.plan.preflight import check
from engine.runqueue.queue_file import DEFAULT_WORKSPACE, RunQueue


def cmd_sweep(args) -> int:
    from engine.runqueue.sweep import load_sweep, point_configs, point_text, points

    sweep = load_sweep(args.sweep, args.set)
    configs = point_configs(sweep)
    queue = RunQueue(args.workspace)
    for cfg, point in zip(configs, points(sweep)):
        item = queue.add(cfg, sweep=sweep.name)
        print(f"queued {item.name}: {point_text(point)}")
    print(f"sweep {sweep.name}: {len(configs)} runs in the queue of {queue.root}")
    if args.queue_only:
        print("run them with `python -m engine queue run`, or open the studio on this workspace")
        return 0
    return run_queue(queue)


def cmd_queue(args) -> int:
    from engine.config import schema as config_mod

    queue = RunQueue(args.workspace)
    if args.action == "add":
        if not args.what:
            raise UserError("queue add needs a run config: python -m engine queue add run.toml")
        item = queue.add(check(config_mod.load(args.what, args.set)))
        print(f"queued {item.name} as {item.id} (run folder {item.run_dir})")
    elif args.action == "list":
        items = queue.items()
        state = "paused" if queue.paused else "waiting"
        print(f"{len(items)} run(s) {state} in {queue.root}" + (":" if items else ""))
        for i, item in enumerate(items):
            print(f"{i:3d}  {item.id}  {item.name}" + (f"  (sweep {item.sweep})" if item.sweep else ""))
    elif args.action in ("pause", "resume"):
        queue.set_paused(args.action == "pause")
        print(f"the queue is {'paused' if args.action == 'pause' else 'running again'}")
    elif args.action == "remove":
        queue.remove(_item(args))
        print(f"removed {args.what}")
    elif args.action == "move":
        if args.to is None:
            raise UserError("queue move needs --to N (0 = next to start)")
        queue.move(_item(args), args.to)
        print(f"moved {args.what} to place {args.to}")
    else:
        return run_queue(queue)
    return 0


def _item(args) -> str:
    if not args.what:
        raise UserError(f"queue {args.action} needs the run's id (queue list shows them)")
    return args.what


def run_queue(queue: RunQueue) -> int:
    """Train the queued runs one after another in this terminal, until the queue is empty or paused.
    Ctrl-C asks the run in progress to stop at a checkpoint (it can be resumed) and ends the loop."""
    from engine.launch.start import start_trainer
    from engine.run.control import request
    from engine.run.runinfo import summarize

    done = 0
    while (item := queue.pop()) is not None:
        print(f"starting {item.name} in {item.run_dir}", flush=True)
        proc = start_trainer(Path(item.run_dir), ["train", item.config])
        try:
            while proc.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            request(Path(item.run_dir), "stop")
            proc.wait()
            print(f"stopped {item.name} at a checkpoint: resume it with `python -m engine resume {item.run_dir}`")
            return 130
        s = summarize(item.run_dir)
        best = f", best validation loss {s.best_val_loss:.4f}" if s.best_val_loss is not None else ""
        print(f"{item.name}: {s.status}{best}" + (f" ({s.message})" if s.message else ""), flush=True)
        done += 1
    print(f"ran {done} run(s); the queue is " + ("paused" if queue.paused else "empty"), file=sys.stderr)
    return 0


def add_commands(add, set_help: str) -> None:
    sp = add("sweep", cmd_sweep, "queue a grid or random search over config fields (each point a run) and run it")
    sp.add_argument("sweep", help="a sweep file (see engine/runqueue/sweep.py)")
    sp.add_argument("--workspace", default=str(DEFAULT_WORKSPACE), help="whose queue (default: the studio's)")
    sp.add_argument("--queue-only", action="store_true", help="only queue the runs (the studio can run them)")
    sp.add_argument("--set", action="append", default=[], metavar=set_help, help="change the base config")
    sp = add("queue", cmd_queue, "the workspace's queue of runs: list, add, run, pause, resume, remove, move")
    sp.add_argument("action", choices=("list", "add", "run", "pause", "resume", "remove", "move"))
    sp.add_argument("what", nargs="?", help="add: a run config; remove, move: a queued run's id")
    sp.add_argument("--to", type=int, help="move: the new place (0 = next)")
    sp.add_argument("--workspace", default=str(DEFAULT_WORKSPACE), help="whose queue (default: the studio's)")
    sp.add_argument("--set", action="append", default=[], metavar=set_help)
