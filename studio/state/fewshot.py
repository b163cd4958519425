"""The Runs page's few-shot figures, without Qt: a run's recorded evaluations (`engine fewshot` keeps them in the
run folder, engine/run/fewshot_results.py) as lines of accuracy against the number of examples k in the prompt,
one per task file and checkpoint, with the chance level of multiple choice; whether a run can be evaluated at
all; the `engine fewshot` command, its task file and shots checked first with the engine's own sentences; and a
stamp of the file, so that a view reads it again only when it changed (written by the studio or from a terminal)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engine.config.schema import DEMO_PREFIX
from engine.core.errors import UserError
from engine.data.fewshot_task import (
    DEFAULT_SHOTS,
    FEWSHOT_OBJECTIVES,
    check_enough_rows,
    parse_shots,
    read_task,
)
from engine.data.files import default_cache_dir
from engine.run.fewshot_results import read_fewshot
from engine.run.folder import FEWSHOT_FILE

SHOTS_TEXT = ",".join(map(str, DEFAULT_SHOTS))
SCORED = re.compile(r"^(\d+) shots?: ")
"""The line `engine fewshot` prints as it has scored one k (engine/infer/fewshot.py)."""
SHOTS_FLAG = re.compile(r"(?<![\w-])--shots\b")
CLI_FLAG = re.compile(r"(?<![\w-])--(?=\w)")


@dataclass(frozen=True)
class FewshotLine:
    """One evaluation drawn: a task file's accuracy at each k, measured at one checkpoint."""

    name: str
    """The legend's words: the task and the checkpoint's step."""
    ks: tuple[int, ...]
    accuracy: tuple[float, ...]
    chance: float | None
    """Multiple choice: the accuracy of guessing among each row's choices; None for exact match."""


def checkpoint_words(entry: dict) -> str:
    step = entry.get("step")
    return f"step {step:,}" if isinstance(step, int) else str(entry.get("checkpoint") or "?")


def fewshot_lines(entries: list[dict]) -> list[FewshotLine]:
    """The lines to draw, in the order evaluated; an entry without scores is left out."""
    lines = []
    for e in entries:
        shots = sorted((s for s in e.get("shots") or [] if isinstance(s, dict) and "k" in s and "accuracy" in s),
                       key=lambda s: s["k"])
        if shots:
            chance = e.get("chance") if e.get("kind") == "choice" else None
            lines.append(FewshotLine(f"{e.get('task', '?')} · {checkpoint_words(e)}", tuple(s["k"] for s in shots),
                                     tuple(float(s["accuracy"]) for s in shots), chance))
    return lines


def chance_levels(lines: list[FewshotLine]) -> list[float]:
    """The distinct chance levels among the lines (one dashed line each; the demo's four choices give one)."""
    return sorted({round(line.chance, 6) for line in lines if line.chance is not None})


def run_lines(run_dir: Path | None) -> list[FewshotLine]:
    return fewshot_lines(read_fewshot(run_dir)) if run_dir is not None else []


def stamp(run_dir: Path | None) -> tuple[int, int] | None:
    """What tells that the run's few-shot file changed: its time and size (None while it is not there)."""
    try:
        st = (Path(run_dir) / FEWSHOT_FILE).stat() if run_dir is not None else None
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size) if st is not None else None


def not_applicable(objective: str | None, run_name: str) -> str:
    """Why a run cannot be evaluated with prompts ("" when it can), as the engine would refuse it."""
    if objective in FEWSHOT_OBJECTIVES:
        return ""
    return (f"Few-shot evaluation asks a causal or instruct run (a decoder that continues a prompt) to answer after "
            f"k examples; {run_name} is a {objective or 'not yet started'} run, which does not continue text.")


def checked_request(task: str, shots: str) -> tuple[Path, list[int]]:
    """The task file and the shots, or a UserError in the engine's sentence (a missing or bad file, bad shots, more
    shots than the file has rows for) before any process starts."""
    if not task.strip():
        raise UserError("Choose a task file: JSONL with a question and an answer (and choices) on each line.")
    wanted = parse_shots(shots)
    found = read_task(Path(task.strip()).expanduser())
    check_enough_rows(found, wanted)
    return found.path, wanted


def said(error: UserError) -> str:
    """An error in one line, in the dialog's words: its sentence, or each problem when it lists several."""
    return dialog_words("; ".join(error.problems) if len(error.problems) > 1 else str(error))


def dialog_words(words: str) -> str:
    """The engine's sentence as the dialog says it: its --shots is the Shots field there, and any other flag keeps
    its dashes on one line (non-breaking hyphens) when the message wraps."""
    return CLI_FLAG.sub("\u2011\u2011", SHOTS_FLAG.sub("Shots", words))


def fewshot_args(run_dir: Path, task: Path, shots: list[int]) -> list[str]:
    """The engine command line (after `engine`) that evaluates the run and records the result in its folder."""
    return ["fewshot", str(run_dir), "--task", str(task), "--shots", ",".join(map(str, shots))]


def shot_scored(line: str) -> int | None:
    """The k just scored, when `line` says so."""
    m = SCORED.match(line.strip())
    return int(m.group(1)) if m else None


def progress_words(task: Path, shots: list[int], done: list[int]) -> str:
    ks = ", ".join(map(str, shots))
    return (f"Evaluating {task.name} with {ks} examples in the prompt (in the background): {len(done)} of "
            f"{len(shots)} done…")


def done_words(task: Path, lines: list[FewshotLine]) -> str:
    """What an evaluation found, from its line in the run's file."""
    line = next((ln for ln in reversed(lines) if ln.name.startswith(f"{task.stem} · ")), None)
    if line is None:
        return f"The evaluation of {task.name} ended."
    best = max(range(len(line.ks)), key=lambda i: line.accuracy[i])
    return (f"Evaluated {task.name}: {line.accuracy[0]:.0%} with {line.ks[0]} examples, {line.accuracy[-1]:.0%} with "
            f"{line.ks[-1]} (best {line.accuracy[best]:.0%} at k = {line.ks[best]}).")


def task_folder(data_path: str | None) -> Path | None:
    """Where a run's task files are likely to be: beside its corpus (a demo's in the demo cache)."""
    if not data_path:
        return None
    if data_path.startswith(DEMO_PREFIX):
        return default_cache_dir() / "demos"
    path = Path(data_path)
    return path if path.is_dir() else path.parent


def suggested_task(run_dir: Path | None, data_path: str | None) -> str:
    """The task file the dialog offers: the run's last evaluated one, else a few-shot task file beside its corpus."""
    done = [e.get("path") for e in read_fewshot(run_dir)] if run_dir is not None else []
    if done and done[-1] and Path(done[-1]).is_file():
        return done[-1]
    folder = task_folder(data_path)
    found = sorted(folder.glob("fewshot-*.jsonl")) if folder is not None and folder.is_dir() else []
    return str(found[0]) if found else ""
