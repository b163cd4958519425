"""A modular-addition run read for the Fourier view: each checkpoint's number embeddings and its logits over the
whole table, and which pairs the run trained on (the engine's own labelled split, engine/data/labelled.py).

The run is a decoder classifier trained on the `modular` demo's table (engine/demo/modular.py): its labels are
the numbers 0..p-1 and each number is one token. Anything else is refused in a sentence saying what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from engine.config import schema as config_mod
from engine.core.errors import UserError
from engine.data.encode import cache_root
from engine.data.labelled import load_labelled
from engine.data.tokenizer import Tokenizer
from engine.demo.modular import parse_question, question
from engine.model import checkpoint as ckpt
from engine.model.hooks import run_with_cache
from engine.model.load import model_from_checkpoint
from engine.probes.fourier import KEY_SHARE, frequency_norms, key_frequencies, progress_measures
from engine.run.folder import RUN_FILE, TOKENIZER_FILE, require_run_folder

NEEDS = ("the Fourier view reads a modular-addition classifier, trained on the `modular` demo's table (labels "
         "0..p-1, each number one token): train resources/recipes/modular-addition.toml")


@dataclass
class Table:
    """What every checkpoint of a run shares: the modulus, the numbers' token ids, the table's inputs and split."""

    p: int
    number_ids: list[int]
    idx: torch.Tensor
    """(p * p, T) the inputs `a+b=`, row a * p + b."""
    train: torch.Tensor
    """(p, p) True where the pair (a, b) is a training pair."""
    val: torch.Tensor


@dataclass
class CheckpointView:
    name: str
    step: int
    norms: np.ndarray
    """The numbers' embedding norm per frequency 0..p // 2."""
    own_keys: list[int]
    """The key frequencies of this checkpoint's own embedding."""
    measures: dict = field(default_factory=dict)
    """progress_measures with the keys of the view (the same for every checkpoint)."""


def modulus(labels: list[str]) -> int:
    """p, when the classifier's labels are the numbers 0..p-1 in order."""
    p = len(labels)
    if p < 2 or list(labels) != [str(n) for n in range(p)]:
        raise UserError(f"{NEEDS}; this run's labels are {', '.join(map(str, labels[:6])) or 'none'}"
                        f"{' ...' if len(labels) > 6 else ''}")
    return p


def number_ids(tokenizer, p: int) -> list[int]:
    """The token id of each number 0..p-1; a number read as several tokens is refused."""
    ids = []
    for n in range(p):
        got = tokenizer.encode(str(n))
        if len(got) != 1:
            raise UserError(f"the tokenizer reads the number {n} as {len(got)} tokens, so it has no embedding row of "
                            f"its own: {NEEDS} (the recipe's BPE vocabulary makes each number one token)")
        ids.append(got[0])
    return ids


def read_table(run_dir: Path, tokenizer, p: int) -> Table:
    """The table's inputs, and its training and validation pairs as the run split them."""
    cfg = config_mod.load(Path(run_dir) / RUN_FILE)
    if cfg.arch != "gpt":
        raise UserError(f"{NEEDS}; this run is a {cfg.arch} model")
    data = load_labelled(cfg, tokenizer, cache_root(cfg), encoder=False, pad_id=tokenizer.token_id("[PAD]") or 0)
    masks = []
    for split in (data.train, data.val):
        mask = torch.zeros(p, p, dtype=torch.bool)
        for row, length in zip(split.idx, split.lengths):
            text = tokenizer.decode(row[: int(length)].tolist())
            pair = parse_question(text)
            if pair is None or max(pair) >= p:
                raise UserError(f"{NEEDS}; this run's corpus has the text {text!r}")
            mask[pair] = True
        masks.append(mask)
    ids = [tokenizer.encode(question(a, b)) for a in range(p) for b in range(p)]
    if len({len(i) for i in ids}) != 1:
        raise UserError(f"the pairs' texts are not all the same number of tokens: {NEEDS}")
    return Table(p, number_ids(tokenizer, p), torch.tensor(ids), masks[0], masks[1])


def table_logits(model, table: Table, *, batch: int = 4096) -> torch.Tensor:
    """(p, p, p): the classifier's logits for every pair (a, b), its classes in number order, read through the
    one capture (eval mode, no gradients)."""
    out = []
    for first in range(0, len(table.idx), batch):
        (logits, _), _ = run_with_cache(model, table.idx[first: first + batch])
        out.append(logits.to(torch.float64))
    p = table.p
    return torch.cat(out).reshape(p, p, p)


def embedding_of_numbers(model, table: Table) -> torch.Tensor:
    """(p, d) the token embedding's rows of the numbers 0..p-1, read from the weights directly."""
    wte = getattr(model, "wte", None)
    if wte is None:
        raise UserError(f"this model has no token embedding to read: {NEEDS}")
    return wte.weight.detach()[table.number_ids].to(torch.float64)


def load_run(run_dir: Path):
    """(tokenizer, the checkpoints to read oldest first, the table)."""
    run_dir = require_run_folder(run_dir)
    found = ckpt.list_checkpoints(run_dir)
    if not found:
        raise UserError(f"{run_dir} has no checkpoint yet: train it first (the Fourier view reads its checkpoints)")
    tokenizer = Tokenizer.load(run_dir / TOKENIZER_FILE)
    labels = ckpt.read_meta(found[-1].path).get("labels") or []
    return tokenizer, found, read_table(run_dir, tokenizer, modulus(labels))


def view_checkpoint(path: Path, run_dir: Path, table: Table, keys: list[int] | None, share: float) -> CheckpointView:
    """One checkpoint's Fourier norms, its own key frequencies, and the progress measures of `keys` (its own
    when None)."""
    model, meta = model_from_checkpoint(path, run_dir)
    modulus(meta.get("labels") or [])
    norms = frequency_norms(embedding_of_numbers(model, table))
    own = key_frequencies(norms, share)
    measures = progress_measures(table_logits(model, table), own if keys is None else keys, table.train, table.val)
    return CheckpointView(path.name, int(meta.get("step", 0)), norms, own, measures)


def fourier_views(run_dir: str | Path, *, keys: list[int] | None = None, share: float = KEY_SHARE,
                  checkpoint: str | None = None, warn=None) -> tuple[Table, list[int], list[CheckpointView]]:
    """(the table, the key frequencies measured, each checkpoint's view, oldest first). The keys are `keys`, or
    else those of the last checkpoint, so every checkpoint is measured against the frequencies the run ends on
    (as Nanda et al. do); `checkpoint` names one to read alone. A damaged checkpoint is passed over with `warn`."""
    run_dir = Path(run_dir)
    _, found, table = load_run(run_dir)
    if keys is not None:
        wrong = [k for k in keys if not 1 <= k <= table.p // 2]
        if wrong:
            raise UserError(f"--keys takes frequencies 1..{table.p // 2} for p = {table.p}; {wrong[0]} is not one")
    paths = [c.path for c in found]
    if checkpoint is not None:
        paths = [c.path for c in found if c.name == checkpoint]
        if not paths:
            raise UserError(f"no checkpoint {checkpoint!r} in {run_dir}; there are: "
                            f"{', '.join(c.name for c in found)}")
    views: list[CheckpointView] = []
    for path in reversed(paths):  # the last first: its key frequencies measure all the others
        try:
            views.append(view_checkpoint(path, run_dir, table, keys, share))
        except ckpt.BadCheckpoint as e:
            if warn:
                warn(f"{e}: passed over")
            continue
        if keys is None:
            keys = views[-1].own_keys
    if not views:
        raise UserError(f"no checkpoint of {run_dir} could be read")
    return table, list(keys or []), views[::-1]
