"""Source -> target pairs from a table corpus (the columns data.source_column and data.target_column).

An encoder-decoder (seq2seq) reads the source and learns the target by teacher forcing: the decoder
sees [PAD] (T5's start token) and the target so far, and predicts the next target token, the last
one <eos>; the source ends with <eos> too, as T5's tokenizers write it. A decoder taught the same
task (instruct) reads one sequence, the prompt template around the source and then the response,
and is trained on the response tokens only; the template is the chat template's one-turn conversation
(engine/data/chat_template.py):

    ### Prompt:
    {source}
    ### Response:
    {target}<eos>

Rows are shuffled once with the run's seed, then split: the last data.test_fraction is the test set,
the data.val_fraction before it validation, the rest training.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from engine.core.errors import UserError
from engine.data.chat_template import prompt_text
from engine.data.corpus import load_documents

PAD, EOS = "[PAD]", "<eos>"
PAD_NAMES, EOS_NAMES = (PAD, "<pad>"), (EOS, "</s>")
"""Ours, then T5's own (a fine-tuned T5 keeps its tokenizer's)."""
IGNORE = -100
N_SENTINELS = 32
PROMPT_TEMPLATE = prompt_text("{source}")
"""The instruct prompt, the chat template's one user turn (engine/data/chat_template.py), with {source} to fill."""
PAIR_KEYS = ("data.source_column", "data.target_column")


def sentinel(i: int) -> str:
    """T5's names for the tokens that stand for the spans a denoising target lists."""
    return f"<extra_id_{i}>"


@dataclass
class Specials:
    pad: int
    eos: int
    sentinels: list[int] = field(default_factory=list)


def special_id(tokenizer, names: tuple[str, ...]) -> int | None:
    """The id of the first of `names` the tokenizer knows."""
    return next((i for n in names if (i := tokenizer.token_id(n)) is not None), None)


def seq2seq_specials(tokenizer, *, sentinels: bool = False) -> Specials:
    """The start/padding and end tokens (and the sentinels), added to the tokenizer where it lacks them."""
    names = [n for n, known in ((PAD, PAD_NAMES), (EOS, EOS_NAMES)) if special_id(tokenizer, known) is None]
    names += [sentinel(i) for i in range(N_SENTINELS)] if sentinels else []
    missing = [n for n in names if tokenizer.token_id(n) is None]
    if missing:
        tokenizer.add_special_tokens(missing)
    return Specials(special_id(tokenizer, PAD_NAMES), special_id(tokenizer, EOS_NAMES),
                    [tokenizer.token_id(sentinel(i)) for i in range(N_SENTINELS)] if sentinels else [])


def read_pairs(data_cfg, cache_dir: str | Path) -> tuple[list[str], list[str]]:
    """Every (source, target) row of the corpus; an empty target is refused with the rows that have one."""
    d = data_cfg
    docs = load_documents(replace(d, text_column=d.source_column), cache_dir, extra_columns=(d.target_column,),
                          keys=PAIR_KEYS)
    sources, targets, empty = [], [], []
    row = 0
    for rows in docs.dataset.iter(batch_size=1000):
        for src, tgt in zip(rows["text"], rows[d.target_column]):
            row += 1
            src, tgt = "" if src is None else str(src), "" if tgt is None else str(tgt)
            if not src.strip() and not tgt.strip():
                continue
            if not tgt.strip():
                empty.append(row)
                continue
            sources.append(src)
            targets.append(tgt)
    name = Path(d.path).name
    if empty:
        where = ", ".join(map(str, empty[:5])) + (" ..." if len(empty) > 5 else "")
        raise UserError(f"{name}: {len(empty)} row(s) have an empty {d.target_column!r} (row {where}): a pair needs "
                        f"a target to learn; fill or remove them")
    if len(sources) < 4:
        raise UserError(f"{name} has {len(sources)} source -> target pairs: too few to train and validate on")
    return sources, targets


@dataclass
class PairSplit:
    src: list[list[int]]
    tgt: list[list[int]]
    sources: list[str]
    targets: list[str]
    name: str = ""
    """train, val or test"""

    def __len__(self) -> int:
        return len(self.src)


@dataclass
class PairData:
    train: PairSplit
    val: PairSplit
    test: PairSplit
    truncated: int
    """Sources cut to the model's source length."""
    targets_cut: int = 0
    """Targets cut to the target length (data.long_pairs = "truncate")."""
    dropped: int = 0
    """Pairs left out for being too long (data.long_pairs = "drop")."""


def split_pairs(sources: list[str], targets: list[str], tokenizer, *, seed: int, val_fraction: float,
                test_fraction: float, max_source: int, max_target: int, target_key: str,
                long_pairs: str = "refuse") -> PairData:
    """Encode, check the lengths, shuffle and split. `long_pairs` (data.long_pairs) says what becomes of pairs
    longer than `max_source` / `max_target` tokens: refuse (a long target is refused, naming the row and the
    setting; long sources are cut), truncate (both cut) or drop (such pairs left out); each counted."""
    src_ids = tokenizer.encode_batch(sources)
    tgt_ids = tokenizer.encode_batch(targets)
    dropped = 0
    if long_pairs == "drop":
        keep = [i for i in range(len(src_ids)) if len(src_ids[i]) <= max_source and len(tgt_ids[i]) <= max_target]
        dropped = len(src_ids) - len(keep)
        if len(keep) < 4:
            raise UserError(f"data.long_pairs = \"drop\" leaves {len(keep)} of {len(src_ids)} pairs (at most "
                            f"{max_source} source and {max_target} target tokens fit): raise {target_key} or "
                            f"truncate them instead")
        sources, targets = [sources[i] for i in keep], [targets[i] for i in keep]
        src_ids, tgt_ids = [src_ids[i] for i in keep], [tgt_ids[i] for i in keep]
    longest = max(range(len(tgt_ids)), key=lambda i: len(tgt_ids[i]))
    if long_pairs == "refuse" and len(tgt_ids[longest]) > max_target:
        raise UserError(f"the target of row {longest + 1} is {len(tgt_ids[longest])} tokens but at most {max_target} "
                        f"fit ({target_key}): raise it, shorten the targets, or set data.long_pairs = \"truncate\" "
                        f"or \"drop\"")
    cut = [i for i, t in enumerate(tgt_ids) if len(t) > max_target]
    targets = list(targets)
    for i in cut:  # the reference a cut target's generations are scored against is what was learnt
        tgt_ids[i] = tgt_ids[i][:max_target]
        targets[i] = tokenizer.decode(tgt_ids[i])
    targets_cut = len(cut)
    truncated = sum(len(s) > max_source for s in src_ids)
    src_ids = [s[:max_source] for s in src_ids]
    train, val, test = three_way(len(sources), seed=seed, val_fraction=val_fraction, test_fraction=test_fraction)

    def part(rows, name):
        return PairSplit([src_ids[i] for i in rows], [tgt_ids[i] for i in rows], [sources[i] for i in rows],
                         [targets[i] for i in rows], name)

    return PairData(part(train, "train"), part(val, "val"), part(test, "test"), truncated, targets_cut, dropped)


def three_way(n: int, *, seed: int, val_fraction: float, test_fraction: float,
              what: str = "pairs") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of the training, validation and test splits: shuffled once with the run's seed, the last
    test_fraction held out for the test, the val_fraction before it (at least one row) for validation."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    n_val = max(1, int(round(n * val_fraction)))
    if n - n_test - n_val < 1:
        raise UserError(f"{n} {what} leave none to train on after the validation and test splits: "
                        f"lower data.val_fraction or data.test_fraction")
    cuts = (n - n_test - n_val, n - n_test)
    return order[: cuts[0]], order[cuts[0]: cuts[1]], order[cuts[1]:]


def seq2seq_batch(split: PairSplit, rows: np.ndarray, specials: Specials) -> dict[str, np.ndarray]:
    return padded_pairs([split.src[i] for i in rows], [split.tgt[i] for i in rows], specials)


def padded_pairs(src: list[list[int]], tgt: list[list[int]], specials: Specials) -> dict[str, np.ndarray]:
    """Teacher forcing: src = source + <eos> (B, S), right-padded, with src_lengths; tgt_in = [PAD] +
    target; targets = target + <eos> (-100 under padding)."""
    src = [s + [specials.eos] for s in src]
    tgt = [t + [specials.eos] for t in tgt]
    S, T = max(map(len, src)), max(map(len, tgt))
    out = {"src": np.full((len(src), S), specials.pad, dtype=np.int64),
           "src_lengths": np.array([len(s) for s in src], dtype=np.int64),
           "tgt_in": np.full((len(src), T), specials.pad, dtype=np.int64),
           "targets": np.full((len(src), T), IGNORE, dtype=np.int64)}
    for r, (s, t) in enumerate(zip(src, tgt)):
        out["src"][r, : len(s)] = s
        out["tgt_in"][r, 1: len(t)] = t[:-1]
        out["targets"][r, : len(t)] = t
    return out


def instruct_ids(prompt_ids: list[int], response_ids: list[int], eos: int, block_size: int) -> tuple[list, list]:
    """A decoder's (idx, targets) for one pair: the prompt's positions carry no loss. The prompt is cut
    from its start when the two do not fit the context."""
    response = response_ids + [eos]
    prompt = prompt_ids[-(block_size + 1 - len(response)):] if len(prompt_ids) + len(response) > block_size + 1 \
        else prompt_ids
    ids = prompt + response
    targets = [IGNORE] * (len(prompt) - 1) + response
    return ids[:-1], targets


def instruct_batch(split: PairSplit, rows: np.ndarray, prompts: list[list[int]], eos: int, pad: int,
                   block_size: int) -> dict[str, np.ndarray]:
    return decoder_batch([instruct_ids(prompts[i], split.tgt[i], eos, block_size) for i in rows], pad)


def decoder_batch(rows: list[tuple[list[int], list[int]]], pad: int) -> dict[str, np.ndarray]:
    """(idx, targets) rows right-padded into one batch: idx with [PAD], targets with -100."""
    T = max(len(idx) for idx, _ in rows)
    out = {"idx": np.full((len(rows), T), pad, dtype=np.int64), "targets": np.full((len(rows), T), IGNORE,
                                                                                    dtype=np.int64)}
    for r, (idx, targets) in enumerate(rows):
        out["idx"][r, : len(idx)] = idx
        out["targets"][r, : len(targets)] = targets
    return out


@dataclass
class Rows:
    """What engine/data/labelled.py's ExampleSampler draws batches from: n rows, and how to batch some."""

    n: int
    make: Callable[[np.ndarray], dict[str, np.ndarray]]

    def __len__(self) -> int:
        return self.n

    def take(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return self.make(rows)
