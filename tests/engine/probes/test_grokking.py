"""The grokking lab: the modular-addition table and its split, the Fourier view on planted embeddings and
logits, and a tiny run of the recipe that records training and validation accuracy for `fourier` to read."""

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.cli import main
from engine.config import schema as config_mod
from engine.core.errors import UserError
from engine.data.labelled import load_labelled
from engine.data.tokenizer import train_tokenizer
from engine.demo import make_demo_corpus
from engine.demo.modular import P, modular_csv, parse_question
from engine.probes.fourier import frequency_norms, key_frequencies, progress_measures, table_loss
from engine.probes.grokking import modulus
from engine.run.events import read_events

RECIPE = Path(__file__).resolve().parents[3] / "resources" / "recipes" / "modular-addition.toml"


def planted_embedding(p: int, amplitudes: dict[int, float], d: int = 16, seed: int = 0) -> np.ndarray:
    """(p, d): each number n as waves cos/sin(2 pi k n / p) of the planted frequencies k along random
    directions, plus a constant every number shares."""
    rng = np.random.default_rng(seed)
    n = np.arange(p)[:, None]
    out = np.tile(rng.normal(size=(1, d)), (p, 1))
    for k, amplitude in amplitudes.items():
        for wave in (np.cos(2 * np.pi * k * n / p), np.sin(2 * np.pi * k * n / p)):
            out += amplitude * wave * rng.normal(size=(1, d))
    return out


def test_the_fourier_norm_of_a_planted_embedding_finds_exactly_its_frequencies():
    p = 97
    norms = frequency_norms(planted_embedding(p, {14: 1.0, 41: 0.7}))
    assert norms.shape == (p // 2 + 1,)
    assert sorted(key_frequencies(norms)) == [14, 41]
    assert np.all(np.delete(norms, [0, 14, 41]) < 1e-9)  # nothing anywhere else
    noisy = planted_embedding(p, {5: 1.0, 30: 1.0}) + np.random.default_rng(1).normal(scale=0.01, size=(p, 16))
    assert sorted(key_frequencies(frequency_norms(noisy))) == [5, 30]


def test_a_single_wave_has_the_norm_its_amplitude_gives():
    p, u = 31, np.array([3.0, 4.0])  # |u| = 5
    wave = np.cos(2 * np.pi * 7 * np.arange(p) / p)[:, None] * u
    norms = frequency_norms(wave)
    assert norms[7] == pytest.approx(5 * math.sqrt(p / 2), rel=1e-9)
    assert key_frequencies(norms) == [7]
    even = frequency_norms(np.cos(np.pi * np.arange(10))[:, None] * u)  # p even: the alternating wave p/2
    assert even[5] == pytest.approx(5 * math.sqrt(10), rel=1e-9) and even[:5].max() < 1e-9


def test_the_restricted_and_excluded_losses_of_planted_logits():
    """Logits made of cos(w_k (a + b - c)) alone: keeping their frequencies keeps the loss, removing them leaves
    no information (the loss of a uniform guess, log p); other frequencies do the opposite."""
    p = 13
    s = torch.arange(p, dtype=torch.float64)
    a, b, c = s[:, None, None], s[None, :, None], s[None, None, :]
    logits = sum(4.0 * torch.cos(2 * math.pi * k * (a + b - c) / p) for k in (2, 5))
    train = torch.rand(p, p, generator=torch.Generator().manual_seed(0)) < 0.5
    m = progress_measures(logits, [2, 5], train, ~train)
    assert m["train_accuracy"] == m["val_accuracy"] == 1.0
    assert m["restricted_loss"] == pytest.approx(m["val_loss"], abs=1e-9)
    assert m["excluded_loss"] == pytest.approx(math.log(p), abs=1e-9)
    other = progress_measures(logits, [3], train, ~train)
    assert other["restricted_loss"] == pytest.approx(math.log(p), abs=1e-9)
    assert other["excluded_loss"] == pytest.approx(table_loss(logits, train), abs=1e-9)


def test_the_demo_holds_every_pair_once_with_its_sum(tmp_path):
    path = make_demo_corpus("modular", tmp_path)
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    pairs = [parse_question(r["text"]) for r in rows]
    assert len(rows) == P * P and len(set(pairs)) == P * P
    assert all(int(r["label"]) == (a + b) % P for r, (a, b) in zip(rows, pairs))


def test_the_engines_split_of_the_table_is_disjoint_and_covers_it(tmp_path):
    p = 11
    (tmp_path / "table.csv").write_text(modular_csv(p))
    cfg = config_mod.load(RECIPE, [f"data.path={tmp_path / 'table.csv'}", f"data.cache_dir={tmp_path / 'cache'}"])
    tok = train_tokenizer("bpe", lambda: [line.split(",")[0] for line in modular_csv(p).splitlines()[1:]],
                          vocab_size=cfg.tokenizer.vocab_size)
    data = load_labelled(cfg, tok, tmp_path / "cache", encoder=False, pad_id=0)

    def pairs(split):
        return [parse_question(tok.decode(row[: int(n)].tolist())) for row, n in zip(split.idx, split.lengths)]

    train, val = pairs(data.train), pairs(data.val)
    assert len(set(train)) == len(train) and len(set(val)) == len(val)
    assert not set(train) & set(val) and set(train) | set(val) == {(a, b) for a in range(p) for b in range(p)}
    assert len(val) == round(p * p * cfg.data.val_fraction)
    assert all(int(label) == (a + b) % p for (a, b), label in zip(train, data.train.labels))


def test_a_tiny_run_of_the_recipe_records_both_accuracies_and_fourier_reads_it(tmp_path, capsys):
    p = 11
    (tmp_path / "table.csv").write_text(modular_csv(p))
    run = tmp_path / "run"
    small = {"data.path": tmp_path / "table.csv", "data.cache_dir": tmp_path / "cache", "train.out_dir": run,
             "train.max_steps": 12, "train.eval_interval": 4, "train.checkpoint_interval": 4, "model.n_embd": 32,
             "train.batch_size": 32}
    sets = [arg for key, value in small.items() for arg in ("--set", f"{key}={value}")]
    assert main(["train", str(RECIPE), *sets, "--events"]) == 0
    evals = [e for e in read_events(run / "events.jsonl") if e.type == "eval"]
    assert [e.step for e in evals] == [0, 4, 8, 12]
    assert all(0 <= e["train_accuracy"] <= 1 and 0 <= e["val_accuracy"] <= 1 for e in evals)
    capsys.readouterr()

    assert main(["fourier", str(run)]) == 0
    out = capsys.readouterr().out
    assert f"a + b mod {p}:" in out and all(f"step-0000{s:02d}" in out for s in (4, 8, 12))
    assert main(["fourier", str(run), "--keys", "1,3", "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert view["p"] == p and view["keys"] == [1, 3] and [c["step"] for c in view["checkpoints"]] == [4, 8, 12]
    last = view["checkpoints"][-1]
    assert len(last["norms"]) == p // 2 + 1
    assert last["val_accuracy"] == pytest.approx(evals[-1]["val_accuracy"], abs=1e-6)  # the engine's own split
    assert last["train_loss"] == pytest.approx(evals[-1]["train_loss"], abs=1e-4)

    for bad, says in ((["--keys", "9"], "frequencies 1..5"), (["--keys", "x"], "whole numbers"),
                      (["--share", "2"], "--share"), (["--checkpoint", "step-999999"], "no checkpoint")):
        assert main(["fourier", str(run), *bad]) == 2
        err = capsys.readouterr().err
        assert says in err and "Traceback" not in err


def test_a_run_that_is_not_modular_addition_is_refused_in_a_sentence():
    with pytest.raises(UserError, match="modular-addition classifier.*balanced, unbalanced"):
        modulus(["balanced", "unbalanced"])
    assert modulus([str(n) for n in range(7)]) == 7
