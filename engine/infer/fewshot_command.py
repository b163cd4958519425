"""`fewshot` on the command line: a causal or instruct run's accuracy on a task file against the number of
examples in its prompt (engine/infer/fewshot.py), printed as a table (or JSON) and recorded in the run folder
(engine/run/fewshot_results.py) for the studio to plot. engine/infer/commands.py lists it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from engine.core.commands import CHECKPOINT_HELP, Command
from engine.core.errors import UserError
from engine.data.fewshot_task import DEFAULT_SEED, DEFAULT_SHOTS, Task, check_enough_rows, parse_shots, read_task
from engine.run.folder import meta_of_checkpoint


def cmd_fewshot(args) -> int:
    from engine.infer.fewshot import check_fewshot_model, evaluate_fewshot  # here: the CLI starts without torch
    from engine.infer.respond import run_objective, unknown_note
    from engine.model.load import load_announced
    from engine.run.fewshot_results import record_fewshot
    from engine.runtime.device import resolve_device

    shots = parse_shots(args.shots)
    if args.limit is not None and args.limit < 1:
        raise UserError(f"--limit {args.limit} asks for no rows: give at least 1, or leave it out for all")
    task = read_task(args.task)  # every check that needs no model comes before loading one
    check_enough_rows(task, shots)
    device = str(resolve_device(args.device, "--device"))
    model, tokenizer, checkpoint = load_announced(args, device)
    objective = run_objective(args.run_dir)
    check_fewshot_model(model, objective, Path(args.run_dir).name)
    note = unknown_note(tokenizer, "".join(row.shown() for row in task.rows))
    if note:
        print(f"warning: {note}", file=sys.stderr)
    scores = evaluate_fewshot(model, tokenizer, task, shots, seed=args.seed, limit=args.limit,
                              instruct=objective == "instruct", device=device,
                              say=lambda text: print(text, file=sys.stderr))
    entry = fewshot_entry(task, checkpoint, scores, args.seed)
    written = record_fewshot(args.run_dir, entry)
    print(json.dumps(entry) if args.json else "\n".join(table(entry)))
    print(f"recorded in {written}", file=sys.stderr)
    return 0


def fewshot_entry(task: Task, checkpoint: Path, scores, seed: int) -> dict:
    """The evaluation as the run folder keeps it and `--json` prints it (engine/run/fewshot_results.py)."""
    choice = task.multiple_choice
    rows = task.rows[: scores[0].rows]
    chance = sum(1 / len(r.choices) for r in rows) / len(rows) if choice else None
    return {"task": task.name, "path": str(task.path.resolve()), "kind": "choice" if choice else "exact",
            "checkpoint": checkpoint.name, "step": meta_of_checkpoint(checkpoint).get("step"), "seed": seed,
            "rows": len(rows), "chance": chance,
            "shots": [{"k": s.k, "accuracy": s.accuracy, **({"acc_norm": s.acc_norm} if choice else {}),
                       "rows": s.rows} for s in scores]}


def table(entry: dict) -> list[str]:
    """Accuracy against the number of examples, one line a k."""
    choice = entry["kind"] == "choice"
    what = "multiple choice" if choice else "exact match of the greedy answer"
    chance = f", chance {entry['chance']:.1%}" if choice else ""
    lines = [f"{entry['task']}: {what}, {entry['rows']} rows, examples drawn with seed {entry['seed']} "
             f"(checkpoint {entry['checkpoint']}{chance})",
             "shots  accuracy  acc_norm" if choice else "shots  exact match"]
    for s in entry["shots"]:
        lines.append(f"{s['k']:>5}  {s['accuracy']:>8.1%}  {s['acc_norm']:>8.1%}" if choice else
                     f"{s['k']:>5}  {s['accuracy']:>11.1%}")
    return lines


def _fewshot_arguments(sp) -> None:
    sp.add_argument("run_dir")
    sp.add_argument("--task", required=True, help="a JSONL file: question, and choices with the answer (index or "
                                                   "text), or the answer alone (exact match)")
    sp.add_argument("--shots", default=",".join(map(str, DEFAULT_SHOTS)),
                    help="numbers of examples in the prompt (default: %(default)s)")
    sp.add_argument("--seed", type=int, default=DEFAULT_SEED, help="draws the examples (default: %(default)s)")
    sp.add_argument("--limit", type=int, help="score only the first N rows (examples come from all the others)")
    sp.add_argument("--json", action="store_true", help="print the result as JSON")
    sp.add_argument("--checkpoint", help=CHECKPOINT_HELP)
    sp.add_argument("--device", default="cpu")


FEWSHOT = Command("fewshot", cmd_fewshot, "a causal or instruct run's accuracy on a task file with 0, 1, 2, 4, 8 "
                                          "examples in the prompt", _fewshot_arguments)
