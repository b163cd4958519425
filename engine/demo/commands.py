"""`demo` on the command line: a built-in demo corpus and its ready run.toml written into a folder, or the
demos listed. COMMANDS registers it (engine/core/commands.py)."""

from __future__ import annotations

from engine.core.commands import Command
from engine.core.paths import output_folder
from engine.core.text import engine_command


def cmd_demo(args) -> int:
    from engine.demo import DEMOS  # here, not at the top: the CLI starts without the demo generators
    from engine.demo.runs import write_demo

    if not args.name:
        width = max(map(len, DEMOS))
        print("\n".join(f"{name:<{width}}  {what}" for name, what in DEMOS.items()))
        return 0
    corpus, config = write_demo(args.name, output_folder(args.out or args.name))
    beside = sorted(p.name for p in corpus.parent.iterdir() if p not in (corpus, config))  # the few-shot task files
    also = f" (and beside them {', '.join(beside)})" if beside else ""
    print(f"wrote {corpus} and {config}{also}\ntrain it with: {engine_command()} train {config}")
    return 0


def _demo_arguments(sp) -> None:
    sp.add_argument("name", nargs="?", help="the demo; without one, list them")
    sp.add_argument("--out", help="the folder to write into (default: ./NAME)")


COMMANDS = [
    Command("demo", cmd_demo, "write a built-in demo corpus and a ready run.toml into a folder", _demo_arguments),
]
