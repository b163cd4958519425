"""`chat` on the command line: talk with an instruct run. Its prompt is the conversation so far in the chat
template (engine/data/chat_template.py): a system message (--system), earlier turns (--history, a JSON or
JSONL conversation in either layout), then each user message, from --message (repeatable) or, without one,
from standard input a line at a time; each answer ends at the end-of-turn token and is printed on its own
line. --save writes the whole conversation, to go on with later (--history). engine/infer/commands.py
lists it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from engine.core.commands import CHECKPOINT_HELP, Command
from engine.core.errors import UserError
from engine.core.paths import output_file
from engine.data.chat_data import read_history
from engine.data.chat_template import ASSISTANT, SYSTEM, USER, check_conversation
from engine.infer.sampling_rules import check_sampling, default_temperature
from engine.run.folder import require_run_folder

SAMPLING = ("max_new_tokens", "temperature", "top_k", "top_p", "repetition_penalty", "seed")


def cmd_chat(args) -> int:
    from engine.infer.respond import run_objective  # here, not at the top: the CLI starts without torch

    history = _opening(args)
    check_sampling({key: getattr(args, key) for key in SAMPLING}, lambda key: "--" + key.replace("_", "-"))
    save = output_file(args.save, "--save", suffixes=(".json",)) if args.save else None
    require_run_folder(args.run_dir)
    objective = run_objective(args.run_dir)
    if objective != "instruct":
        raise UserError(f"chat talks with an instruct run (a decoder that learnt the assistant's turns); "
                        f"{Path(args.run_dir).name} is a {objective} run: use `generate` or `predict`")
    talk(args, history, _user_lines(args))
    if save:
        save.write_text(json.dumps({"messages": history}, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"saved the conversation to {save}", file=sys.stderr)
    return 0


def _opening(args) -> list[dict]:
    """The system message and the history, checked before any model is loaded."""
    history = read_history(args.history) if args.history else []
    if args.system is not None:
        if not args.system.strip():
            raise UserError("--system is empty: give the system message, or leave it out")
        if history and history[0]["role"] == SYSTEM:
            raise UserError(f"{Path(args.history).name} opens with a system message already: leave out --system")
        history.insert(0, {"role": SYSTEM, "content": args.system})
    for text in args.message:
        check_conversation([{"role": USER, "content": text}], training=False, where="--message")
    return history


def _user_lines(args):
    """Each user message: the --message ones, else standard input's lines (asked for on a terminal)."""
    if args.message:
        yield from args.message
        return
    asking = sys.stdin.isatty()
    while True:
        if asking:
            print("you> ", end="", file=sys.stderr, flush=True)
        line = sys.stdin.readline()
        if not line:
            return
        if line.strip():
            yield line.rstrip("\n")


def talk(args, history: list[dict], lines) -> None:
    """Answer the history's last user turn if it ends with one, then each line, printing every answer."""
    from engine.data.chat_encode import prompt_ids  # here, not at the top: the CLI starts without torch
    from engine.infer.generate import SamplingOptions
    from engine.infer.respond import stream_reply, unknown_note
    from engine.model.load import load_announced
    from engine.runtime.device import resolve_device

    device = str(resolve_device(args.device, "--device"))
    model, tokenizer, _ = load_announced(args, device)
    warned = False

    def answer() -> None:
        nonlocal warned
        check_conversation(history, training=False, where="the conversation")
        block = model.config.block_size
        if not warned and len(prompt_ids(tokenizer, [history])[0]) >= block:
            print(f"warning: the conversation is longer than this model's context of {block} tokens: it reads "
                  f"the last {block - 1} (model.block_size)", file=sys.stderr)
            warned = True
        opts = SamplingOptions(max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_k=args.top_k,
                               top_p=args.top_p, repetition_penalty=args.repetition_penalty, seed=args.seed)
        ids = [t.id for t in stream_reply(model, tokenizer, history, opts, device=device)]
        reply = tokenizer.decode(ids).strip()
        print(reply, flush=True)
        history.append({"role": ASSISTANT, "content": reply or "…"})

    if history and history[-1]["role"] == USER:
        answer()
    for line in lines:
        if note := unknown_note(tokenizer, line):
            print(f"warning: {note}", file=sys.stderr)
        history.append({"role": USER, "content": line})
        answer()


def _chat_arguments(sp) -> None:
    sp.add_argument("run_dir")
    sp.add_argument("--message", "-m", action="append", default=[],
                    help="a user message (repeatable: each is answered in turn); without one, lines from stdin")
    sp.add_argument("--system", help="the system message the conversation opens with")
    sp.add_argument("--history", help="a JSON or JSONL conversation to go on with (messages or ShareGPT layout)")
    sp.add_argument("--save", help="write the whole conversation to this new .json file (a --history for later)")
    sp.add_argument("--checkpoint", help=CHECKPOINT_HELP)
    sp.add_argument("--max-new-tokens", type=int, default=200)
    sp.add_argument("--temperature", type=float, default=default_temperature(True), help="0 = greedy (the default)")
    sp.add_argument("--top-k", type=int, default=0)
    sp.add_argument("--top-p", type=float, default=1.0)
    sp.add_argument("--repetition-penalty", type=float, default=1.0)
    sp.add_argument("--seed", type=int)
    sp.add_argument("--device", default="cpu")


CHAT = Command("chat", cmd_chat, "talk with an instruct run: a system message, a history and your messages in its "
                                 "chat template; each answer stops at the end of its turn", _chat_arguments)
