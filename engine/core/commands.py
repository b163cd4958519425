"""The command line's one convention: each group's commands module lists its commands as `COMMANDS`, a list
of `Command(name, run, help, arguments)`, and engine/cli.py builds its one parser from them. Here too: what
several groups' commands share (exit statuses, the one-line error, common options)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NamedTuple

EXIT_USER, EXIT_FAULT, EXIT_CRASH = 2, 3, 1
CHECKPOINT_HELP = "best (the default: lowest validation loss), latest, or a name such as step-000500"
SET_METAVAR = "SECTION.KEY=VALUE"


class Command(NamedTuple):
    name: str
    run: Callable[[argparse.Namespace], int]
    help: str  # the command's line in `--help`, and its own description
    arguments: Callable[[argparse.ArgumentParser], None] | None = None  # adds its arguments to its parser


def output_flags(sp: argparse.ArgumentParser) -> None:
    """--events / --human: how a training command prints its progress."""
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--events", dest="events", action="store_true", default=None,
                   help="print events as JSON lines (default when stdout is not a terminal)")
    g.add_argument("--human", dest="events", action="store_false", help="print readable lines")


def say_error(message: str, problems: list[str] | None = None) -> None:
    if problems and len(problems) > 1:  # each once, then a last line that counts them
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        message = f"{len(problems)} problems, listed above"
    print(f"error: {message}", file=sys.stderr)
