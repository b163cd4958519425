"""`sweep` and `queue` on the command line: the same queue file the studio runs, so a sweep started here
shows in the studio and a queue filled there can be run here (one run after another). And `cluster`: a run
started on a SLURM cluster instead. COMMANDS registers them (engine/core/commands.py)."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

from engine.config import schema as config_mod
from engine.core.commands import SET_METAVAR, Command
from engine.core.errors import UserError
from engine.core.paths import output_folder, workspace_folder
from engine.core.text import engine_command
from engine.launch.slurm import ClusterPlan, write_cluster_job
from engine.launch.start import start_trainer
from engine.plan.preflight import check
from engine.run.folder import RUN_FILE, checkpoints
from engine.run.runinfo import summarize
from engine.runqueue.foreground import StopSignals, stop_trainer
from engine.runqueue.queue_file import DEFAULT_WORKSPACE, RunQueue
from engine.runqueue.sweep import load_sweep, point_configs, point_text, points


def cmd_sweep(args) -> int:
    workspace = workspace_folder(args.workspace)
    sweep = load_sweep(args.sweep, args.set)
    configs = point_configs(sweep)
    queue = RunQueue(workspace)
    for cfg, point in zip(configs, points(sweep)):
        item = queue.add(cfg, sweep=sweep.name)
        print(f"queued {item.name}: {point_text(point)}")
    print(f"sweep {sweep.name}: {len(configs)} runs in the queue of {queue.root}")
    if args.queue_only:
        print(f"run them with `{_hint(queue)}`, or open the studio on this workspace")
        return 0
    return run_queue(queue)


def cmd_queue(args) -> int:
    queue = RunQueue(workspace_folder(args.workspace, existing=args.action in ("list", "run")))
    if args.action == "add":
        if not args.what:
            raise UserError(f"queue add needs a run config: {engine_command()} queue add run.toml")
        item = queue.add(check(config_mod.load(args.what, args.set)), name=Path(args.what).stem)
        print(f"queued {item.name} as {item.id} (run folder {item.run_dir})")
    elif args.action == "list":
        items = queue.items()
        state = "paused" if queue.paused else "waiting"
        print(f"{len(items)} run(s) {state} in {queue.root}" + (":" if items else ""))
        if items:
            print(f"{'place':>5}  {'id':<{len(items[0].id)}}  name")
        for i, item in enumerate(items):
            print(f"{i:5d}  {item.id}  {item.name}" + (f"  (sweep {item.sweep})" if item.sweep else ""))
    elif args.action in ("pause", "resume"):
        queue.set_paused(args.action == "pause")
        print(f"the queue is {'paused' if args.action == 'pause' else 'running again'}")
    elif args.action == "remove":
        queue.remove(_item(args))
        print(f"removed {args.what}")
    elif args.action == "move":
        if args.to is None:
            raise UserError("queue move needs --to N (0 = next to start)")
        n = len(queue.items())
        if not 0 <= args.to < n:
            raise UserError(f"--to {args.to} is not a place in the queue: its {n} run(s) are at places 0 to {n - 1} "
                            f"(0 = next to start)" if n else f"--to {args.to}: the queue is empty")
        queue.move(_item(args), args.to)
        print(f"moved {args.what} to place {args.to}")
    else:
        return run_queue(queue)
    return 0


def _item(args) -> str:
    if not args.what:
        raise UserError(f"queue {args.action} needs the run's id (queue list shows them)")
    return args.what


def _hint(queue: RunQueue, command: str = "queue run") -> str:
    """The command to type next: how the user calls the engine, with the workspace unless it is the default."""
    default = queue.root == RunQueue(DEFAULT_WORKSPACE).root
    return f"{engine_command()} {command}" + ("" if default else f" --workspace {shlex.quote(str(queue.root))}")


def run_queue(queue: RunQueue) -> int:
    """Train the queued runs one after another in this terminal, until the queue is empty or paused; status 1
    when a run failed (it is off the queue; its run folder says why). Ctrl-C (or SIGTERM) asks the run in
    progress to stop at a checkpoint (it can be resumed), says so in one line and ends with status 130
    (engine/runqueue/foreground.py)."""
    items, paused = queue.state()
    if paused:
        print(f"the queue is paused with {len(items)} run(s) waiting: `{_hint(queue, 'queue resume')}` lets "
              f"them start, then `{_hint(queue)}` runs them", file=sys.stderr)
        return 0
    done, failed = 0, []
    with StopSignals() as signals:
        while not signals.asked and (item := queue.pop()) is not None:
            print(f"starting {item.name} in {item.run_dir}", flush=True)
            proc = start_trainer(Path(item.run_dir), ["train", item.config])
            signals.wait(proc, None)
            if signals.asked:
                return _interrupted(queue, item, proc, signals)
            s = summarize(item.run_dir)
            best = f", best validation loss {s.best_val_loss:.4f}" if s.best_val_loss is not None else ""
            print(f"{item.name}: {s.status}{best}" + (f" ({s.message})" if s.message else ""), flush=True)
            done += 1
            if s.status not in ("finished", "stopped"):
                failed.append(item)
        if signals.asked:
            waiting = len(queue.items())
            print(f"stopped the queue between runs after {done} run(s); {waiting} run(s) wait in it: "
                  f"`{_hint(queue)}` goes on", file=sys.stderr)
            return 130
    print(f"ran {done} run(s); the queue is " + ("paused" if queue.paused else "empty"), file=sys.stderr)
    if failed:
        print(f"{len(failed)} of them failed: " + ", ".join(f"{i.name} (see {i.run_dir})" for i in failed),
              file=sys.stderr)
        return 1
    return 0


def _interrupted(queue: RunQueue, item, proc, signals) -> int:
    """Stop the trainer of `item`, leave the queue and its run folder consistent, say so in one line: 130."""
    how = stop_trainer(proc, item.run_dir, signals)
    late = {"terminated": " (it needed SIGTERM)", "killed": " (it did not stop in time and was killed)"}.get(how, "")
    saved = max(checkpoints(item.run_dir), key=lambda c: c[1], default=None)
    if saved is None:  # nothing trained: the run goes back to the head of the queue, to start afresh
        if (Path(item.run_dir) / RUN_FILE).exists():
            shutil.rmtree(item.run_dir, ignore_errors=True)
        queue.put_back(item)
        print(f"stopped {item.name} before its first checkpoint{late}; it is back at the head of the queue: "
              f"`{_hint(queue)}` starts it again", file=sys.stderr)
        return 130
    waiting = len(queue.items())
    more = f"; {waiting} more run(s) wait in the queue (`{_hint(queue)}`)" if waiting else ""
    print(f"stopped {item.name} at step {saved[1]} (checkpoint {saved[0]}){late}: resume it with "
          f"`{engine_command()} resume {shlex.quote(item.run_dir)}`{more}", file=sys.stderr)
    return 130


def _sweep_arguments(sp) -> None:
    sp.add_argument("sweep", help="a sweep file (see engine/runqueue/sweep.py)")
    sp.add_argument("--workspace", default=str(DEFAULT_WORKSPACE), help="whose queue (default: the studio's)")
    sp.add_argument("--queue-only", action="store_true", help="only queue the runs (the studio can run them)")
    sp.add_argument("--set", action="append", default=[], metavar=SET_METAVAR, help="change the base config")


def _queue_arguments(sp) -> None:
    sp.add_argument("action", choices=("list", "add", "run", "pause", "resume", "remove", "move"))
    sp.add_argument("what", nargs="?", help="add: a run config; remove, move: a queued run's id")
    sp.add_argument("--to", type=int, help="move: the new place (0 = next)")
    sp.add_argument("--workspace", default=str(DEFAULT_WORKSPACE), help="whose queue (default: the studio's)")
    sp.add_argument("--set", action="append", default=[], metavar=SET_METAVAR)


def cmd_cluster(args) -> int:
    output_folder(args.out)
    cfg = check(config_mod.load(args.config, args.set))
    plan = ClusterPlan(nodes=args.nodes, gpus_per_node=args.gpus_per_node, time=args.time, partition=args.partition,
                       account=args.account)
    script = write_cluster_job(cfg, plan, Path(args.out), repo=Path(__file__).resolve().parents[2])
    print(f"wrote {script} and {script.parent / 'config.toml'}: run `sbatch {script}` on a login node; "
          f"the run appears in {script.parent / 'run'} (follow it from the studio's Runs page)")
    return 0



def _cluster_arguments(sp) -> None:
    sp.add_argument("config")
    sp.add_argument("--out", required=True, help="a new folder on the cluster's shared file system")
    sp.add_argument("--nodes", type=int, default=1)
    sp.add_argument("--gpus-per-node", type=int, default=1)
    sp.add_argument("--time", default="12:00:00", help="wall-clock limit, hours:minutes:seconds")
    sp.add_argument("--partition", default="")
    sp.add_argument("--account", default="")
    sp.add_argument("--set", action="append", default=[], metavar=SET_METAVAR)


COMMANDS = [
    Command("sweep", cmd_sweep, "queue a grid or random search over config fields (each point a run) and run it",
            _sweep_arguments),
    Command("queue", cmd_queue, "the workspace's queue of runs: list, add, run, pause, resume, remove, move",
            _queue_arguments),
    Command("cluster", cmd_cluster, "write a SLURM batch script (torchrun on every node) and the config it trains",
            _cluster_arguments),
]
