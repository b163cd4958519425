"""The engine's command line: prepare, tokenizer, train, resume, eval, generate, predict, fewshot, attention, heads,
lens, export, control, intervene, serve, runs.

One table of commands (commands(), in HELP_ORDER): each group's commands module lists its own as COMMANDS
(engine/core/commands.py).

Bad configs and corpora get one line saying what is wrong and exit status 2, never a traceback.
When stdout is not a terminal (a GUI, a pipe) training events go to stdout as JSON lines.
"""

from __future__ import annotations

import argparse
import sys
import time

from engine.core.commands import EXIT_CRASH, EXIT_FAULT, EXIT_USER, Command, say_error
from engine.core.errors import FolderNotConfig, UserError
from engine.core.text import engine_command
from engine.demo.commands import COMMANDS as DEMO_COMMANDS
from engine.infer.commands import COMMANDS as INFER_COMMANDS
from engine.launch.allocator import restart_with_allocator
from engine.probes.commands import COMMANDS as PROBE_COMMANDS
from engine.run.commands import COMMANDS as RUN_COMMANDS
from engine.run.events import EventWriter
from engine.run.folder import folder_as_config
from engine.runqueue.commands import COMMANDS as QUEUE_COMMANDS
from engine.train.commands import COMMANDS as TRAIN_COMMANDS
from engine.worker.serve import COMMANDS as SERVE_COMMANDS

__all__ = ["EXIT_CRASH", "EXIT_FAULT", "EXIT_USER", "build_parser", "commands", "main"]

HELP_ORDER = ("train", "resume", "prepare", "tokenizer", "eval", "generate", "chat", "predict", "fewshot", "export",
              "attention", "heads", "lens", "fourier", "features", "concept", "control", "intervene", "serve", "demo",
              "runs", "sweep", "queue", "cluster")
"""The commands as `--help` lists them; each group's commands module registers its own (engine/core/commands.py)."""


def commands() -> list[Command]:
    """The one table: every group's COMMANDS, in HELP_ORDER."""
    by_name = {c.name: c for group in (TRAIN_COMMANDS, INFER_COMMANDS, PROBE_COMMANDS, RUN_COMMANDS, SERVE_COMMANDS,
                                       DEMO_COMMANDS, QUEUE_COMMANDS) for c in group}
    if sorted(by_name) != sorted(HELP_ORDER):
        raise RuntimeError(f"registered commands {sorted(by_name)} are not HELP_ORDER's {sorted(HELP_ORDER)}")
    return [by_name[name] for name in HELP_ORDER]


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()  # a time budget counts from here: the user's wait includes the set-up
    if argv is None:  # a real command line: train/resume restart once with tcmalloc where the machine has it
        restart_with_allocator(sys.argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USER
    args.argv, args.started = list(argv if argv is not None else sys.argv[1:]), started
    try:
        return args.func(args) or 0
    except UserError as e:
        e = folder_as_config(e) if isinstance(e, FolderNotConfig) else e
        say_error(str(e), getattr(e, "problems", []))
        if getattr(args, "events", None) and not getattr(e, "reported", False):  # a launcher reads stdout
            EventWriter(None, echo=sys.stdout).emit("error", kind="refused", message=str(e),
                                                    problems=getattr(e, "problems", []))
        return EXIT_USER
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=engine_command(), description="Attention Studio's engine: train and use "
                                "Transformer language models from a TOML run config.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for command in commands():
        sp = sub.add_parser(command.name, help=command.help, description=command.help)
        sp.set_defaults(func=command.run)
        if command.arguments is not None:
            command.arguments(sp)
    return p
