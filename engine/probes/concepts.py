"""Probes over training: for a concept (engine/probes/concept.py), a linear probe per layer (the embeddings and
each block's residual stream) at each checkpoint of a run, scored on held-out examples
(engine/probes/linear_probe.py): the accuracy per (layer, checkpoint), a heatmap's data, written to
concepts/NAME.json in the run folder. It reads checkpoints, off the training process.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from engine.core.errors import UserError
from engine.core.tomlio import write_atomic
from engine.model import checkpoint as ckpt
from engine.model.build import gpt_config_from_dict
from engine.model.hooks import run_with_cache
from engine.probes.concept import OUT, Concept, compile_regex, read_labelled_csv, regex_labels, token_labels
from engine.probes.linear_probe import HELD_OUT, probe, split_groups
from engine.probes.residuals import (
    POSITIONS,
    check_layer,
    chosen_checkpoints,
    each_model,
    layer_label,
    resid_name,
    residuals,
    validation_tokens,
    windows,
)
from engine.run.folder import CONCEPTS_DIR, require_run_folder


class WindowExamples:
    """Every labelled position of windows of the validation tokens; a window is a group."""

    def __init__(self, rows: np.ndarray, labels: np.ndarray):
        self.rows, self.mask = rows, labels != OUT
        self.y = labels[self.mask]
        self.groups = np.broadcast_to(np.arange(len(rows))[:, None], rows.shape)[self.mask]

    def read(self, model, names: list[str]) -> dict[str, torch.Tensor]:
        mask = torch.as_tensor(self.mask)
        return {n: acts[mask] for n, acts in residuals(model, self.rows, names).items()}


class TextExamples:
    """The CSV's texts, each read at its last token (a text longer than the context keeps its last `context`
    tokens); a text is a group."""

    def __init__(self, ids: list[list[int]], y: np.ndarray):
        self.ids, self.y, self.groups = ids, y, np.arange(len(ids))

    def read(self, model, names: list[str]) -> dict[str, torch.Tensor]:
        out = {n: torch.zeros(len(self.ids), model.config.n_embd) for n in names}
        by_length: dict[int, list[int]] = {}
        for i, row in enumerate(self.ids):
            by_length.setdefault(len(row), []).append(i)
        for length, which in by_length.items():  # equal lengths batched: no padding for any model to see
            for first in range(0, len(which), 64):
                part = which[first: first + 64]
                _, cache = run_with_cache(model, torch.tensor([self.ids[i] for i in part]), names=names)
                for n in names:
                    out[n][part] = cache[n][:, length - 1].float().cpu()
        return out


def examples_of(concept: Concept, spec, tokenizer, val: np.ndarray, context: int, positions: int):
    """The concept's examples on this run, and its classes; `spec` is the compiled regex, the token mapping or
    the CSV's (texts, labels)."""
    if concept.kind == "csv":
        texts, labels = spec
        classes = sorted(set(labels))
        ids = [row[-context:] for row in tokenizer.encode_batch(texts)]
        keep = [i for i, row in enumerate(ids) if row]
        return TextExamples([ids[i] for i in keep], np.array([classes.index(labels[i]) for i in keep])), classes
    rows = windows(val, context, positions)
    uniq = sorted({int(i) for i in rows.flat})
    strings = dict(zip(uniq, tokenizer.token_strings(uniq)))
    if concept.kind == "regex":
        return WindowExamples(rows, regex_labels(spec, rows, strings)), ["outside", "match"]
    labels, classes = token_labels(spec, rows, strings)
    return WindowExamples(rows, labels), classes


def parse(concept: Concept):
    """The concept's spec read, before anything else is: a bad regex or CSV is refused at once."""
    from engine.probes.concept import parse_token_list

    return {"regex": compile_regex, "tokens": parse_token_list, "csv": read_labelled_csv}[concept.kind](concept.spec)


def check_examples(examples, classes: list[str], held: np.ndarray) -> None:
    present = np.bincount(examples.y, minlength=len(classes))
    if (present > 0).sum() < 2:
        only = classes[int(present.argmax())] if present.sum() else "none"
        raise UserError(f"the concept gives every example of the sample one label ({only}, {int(present.sum())} "
                        f"examples): a probe needs at least two; widen the regex or the list, or give more rows")
    if len(np.unique(examples.y[~held])) < 2:
        raise UserError("the examples fitted hold one label only: give more examples of the rarer ones")


def run_concept(run_dir: str | Path, concept: Concept, *, name: str, checkpoints: str | None = None,
                layer: int | None = None, positions: int = POSITIONS,
                say: Callable[[str], None] = lambda text: None) -> dict:
    """Probe every layer (or `layer` alone) of each chosen checkpoint for the concept; write and return the table."""
    spec = parse(concept)
    run_dir = require_run_folder(run_dir)
    found = chosen_checkpoints(run_dir, checkpoints)
    n_layer = gpt_config_from_dict(ckpt.read_meta(found[-1].path).get("model") or {}).n_layer
    if layer is not None:
        check_layer(layer, n_layer)
    names = [resid_name(layer)] if layer is not None else ["hook_embed"] + [resid_name(i) for i in range(n_layer)]
    tokenizer, val, context = validation_tokens(run_dir)
    examples, concept.classes = examples_of(concept, spec, tokenizer, val, context, positions)
    held = split_groups(examples.groups)
    check_examples(examples, concept.classes, held)
    scores: list[list[dict]] = []  # per checkpoint, per layer
    done = []
    for c, model in each_model(run_dir, found):
        started = time.perf_counter()
        acts = examples.read(model, names)
        scores.append([probe(acts[n], examples.y, held, len(concept.classes)) for n in names])
        done.append(c)
        say(f"{c.name}: {len(names)} probe{'s' * (len(names) > 1)} in {time.perf_counter() - started:.1f} s")
    if not done:
        raise UserError(f"no checkpoint of {run_dir} could be read")
    table = {key: [[s[i][key] for s in scores] for i in range(len(names))]
             for key in ("accuracy", "train_accuracy", "balanced")}
    out = {"name": name, "concept": {"kind": concept.kind, "spec": concept.spec, "classes": concept.classes},
           "counts": np.bincount(examples.y, minlength=len(concept.classes)).tolist(), "examples": int(len(examples.y)),
           "held_out": HELD_OUT, "chance": scores[0][0]["chance"], "layers": [layer_label(n) for n in names],
           "hook_names": names, "checkpoints": [c.name for c in done], "steps": [c.step for c in done], **table}
    path = Path(run_dir) / CONCEPTS_DIR / f"{name}.json"
    write_atomic(path, json.dumps(out, ensure_ascii=False))
    out["path"] = str(path)
    return out


def table_lines(out: dict, key: str = "accuracy") -> list[str]:
    """The table of `key` (accuracy or balanced): a row a layer, a column a checkpoint."""
    head = f"{'layer':<7}" + "".join(f"{'step ' + str(s):>12}" for s in out["steps"])
    rows = [f"{label:<7}" + "".join(f"{a:>12.1%}" for a in accs) for label, accs in zip(out["layers"], out[key])]
    return [head, *rows]
