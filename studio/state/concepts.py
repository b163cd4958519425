"""The Concepts tab's figures, without Qt: a concept as the user gives it (a regex, with presets; a token list; a
CSV of text and label), checked at once with the engine's own sentences (engine/probes/concept.py, numpy only);
the `engine concept` command that probes it; the tables saved in the run's concepts/ folder; and the table of a
run trained with `train.concept_regex`, read from its evaluations (studio/store.py keeps them), in the same shape.

A table: {name, concept {kind, spec, classes}, layers, steps, accuracy [layer][checkpoint], and where the engine
probed the checkpoints: chance (always guessing the commoner label), counts, examples}."""

from __future__ import annotations

import json
import re
from pathlib import Path

from engine.core.errors import UserError
from engine.probes.concept import Concept, compile_regex, parse_token_list, read_labelled_csv, slug
from engine.run.folder import CONCEPTS_DIR

PRESETS = {
    "a digit follows": r".(?=[0-9])",
    "inside a quotation": r'"[^"]*"',
    "a capital letter": r"[A-Z]",
}
KINDS = {
    "regex": "a regex over the text: the tokens its matches cover are the concept",
    "tokens": "a token list: a,e,i,o,u (those tokens against every other), or token=label pairs",
    "csv": "a CSV file with the columns text and label: each text read at its last token",
}
PROBED = re.compile(r"^(step-\d+): \d+ probes? in (\d+(?:\.\d+)?) s$")
"""The line `engine concept` prints as a checkpoint's probes are done (engine/probes/concepts.py)."""
LIVE = "during training"
"""The name of the table read from a run's evaluations."""
EMPTY = {"regex": "Type a regex, or pick a preset: the tokens its matches cover are the concept.",
         "tokens": "List the concept's tokens, such as a,e,i,o,u (or token=label pairs).",
         "csv": "Choose a CSV file with the columns text and label."}


def checked_concept(kind: str, spec: str) -> Concept:
    """The concept, or a UserError in the engine's sentence (a regex that does not compile, a CSV without the
    columns text and label, an empty list) before any process starts."""
    if not spec.strip():
        raise UserError(EMPTY[kind])
    {"regex": compile_regex, "tokens": parse_token_list, "csv": read_labelled_csv}[kind](spec)
    return Concept(kind, spec)


def result_name(concept: Concept) -> str:
    """The file name of the concept's table in concepts/ (the engine's slug, kept to what `--name` takes)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", slug(concept)).strip("-") or "concept"


def concept_args(run_dir: Path, concept: Concept) -> list[str]:
    """The engine command line (after `engine`) that probes every layer of every checkpoint for the concept."""
    return ["concept", str(run_dir), f"--{concept.kind}", concept.spec, "--name", result_name(concept)]


def checkpoint_probed(line: str) -> float | None:
    """The seconds a checkpoint took, when `line` says its probes are done."""
    m = PROBED.match(line.strip())
    return float(m.group(2)) if m else None


def progress_words(done: list[float], total: int) -> str:
    if not done:
        return (f"Probing every layer of {total} checkpoint{'s' * (total != 1)} (a linear probe each, in the "
                f"background; seconds a checkpoint on a small model)…")
    each = sum(done) / len(done)
    return f"{len(done)} of {total} checkpoints probed, about {each:.1f} s each…"


def result_path(run_dir: Path, concept: Concept) -> Path:
    return Path(run_dir) / CONCEPTS_DIR / f"{result_name(concept)}.json"


def read_table(path: Path) -> dict | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("accuracy") and data.get("layers") else None


def saved_tables(run_dir: Path | None) -> list[dict]:
    """Every table the run's concepts/ folder holds (each with its "path"), newest first."""
    if run_dir is None:
        return []
    paths = sorted((Path(run_dir) / CONCEPTS_DIR).glob("*.json"), key=lambda p: -p.stat().st_mtime)
    return [table | {"path": str(p)} for p in paths if (table := read_table(p)) is not None]


def ordered_layers(names) -> list[str]:
    """The embeddings first, then the blocks in order."""
    return sorted(names, key=lambda n: (n != "embed", int(n) if n.isdigit() else 0))


def live_table(evals: list, regex: str) -> dict | None:
    """The table of the run's concept as its evaluations measured it, or None where none did."""
    measured = [e for e in evals if e.get("concept_accuracy")]
    if not measured:
        return None
    layers = ordered_layers({name for e in measured for name in e["concept_accuracy"]})
    return {"name": LIVE, "concept": {"kind": "regex", "spec": regex, "classes": ["outside", "match"]},
            "layers": layers, "steps": [e.step for e in measured],
            "accuracy": [[e["concept_accuracy"].get(name) for e in measured] for name in layers]}


def live_problem(evals: list) -> str:
    """Why the run's concept could not be probed while it trained (said once, at the first evaluation), or ""."""
    return next((e["concept_problem"] for e in evals if e.get("concept_problem")), "")


def table_title(table: dict) -> str:
    c = table["concept"]
    return (f"{c['kind']} {c['spec']!r} (measured during training)" if table["name"] == LIVE
            else f"{c['kind']} {c['spec']!r}")


def baseline_words(table: dict) -> str:
    """The majority-guess baseline the accuracies are read against, in words."""
    if table.get("chance") is None:
        return ("Measured at each evaluation while the run trained, on a sample of validation positions "
                "(train.concept_regex). The majority-guess baseline is not recorded there: Probe this regex to get "
                "it, on more positions.")
    classes, counts = table["concept"]["classes"], table.get("counts") or []
    common = f" ({classes[counts.index(max(counts))]!r})" if counts and len(counts) == len(classes) else ""
    return (f"Majority-guess baseline: always guessing the commoner label{common} scores {table['chance']:.1%} of "
            f"the held-out examples; a layer above it knows something of the concept. {table.get('examples', 0):,} "
            f"examples, each probe fitted on most of them and scored on the rest.")


def floor_of(table: dict) -> float:
    """Where the colour starts: the baseline, or where none is known, the table's lowest accuracy."""
    if table.get("chance") is not None:
        return float(table["chance"])
    values = [a for row in table["accuracy"] for a in row if a is not None]
    return min(values) if values else 0.0
