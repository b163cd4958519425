"""A masked LM's head at every position against at the masked ones only (engine/model/encoder.py), on CPU.

Two engine processes train the same BERT-style encoder (4 x 256, context 128, batch 16, a BPE vocabulary
of 8,192 on Tiny Shakespeare, 15% of the tokens masked), taking turns (lockstep.py); one computes the
head's logits at every position and the loss over the masked ones, as the engine did before, the other
reads the head at the masked positions only. Prints each one's median step, its peak memory and the ratios:
    python bench/masked_head.py [--rounds 10] [--threads 2] [--data ../shared/data/tinyshakespeare.txt]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data" / "tinyshakespeare.txt"


def whole_head_forward(model, idx, targets=None, *, token_types=None, pad_mask=None, nsp_labels=None, lengths=None):
    """The encoder's masked-LM forward as it was: logits everywhere, unmasked positions ignored in the loss."""
    from torch.nn import functional as F

    hidden = model.encode(idx, token_types, pad_mask)
    logits = model.mlm_logits(hidden)
    if targets is None:
        return logits, None
    loss = F.cross_entropy(logits.view(-1, logits.size(-1)).float(), targets.reshape(-1), ignore_index=-100)
    if nsp_labels is not None and model.config.nsp:
        loss = loss + F.cross_entropy(model.nsp_logits(hidden).float(), nsp_labels)
    return logits, loss


def contender(whole: bool, data: str, threads: int, cache: str) -> None:
    sys.path.insert(0, str(HERE))
    from common import temp_dir, train_in_turns

    from engine.config.schema import from_dict
    from engine.model.encoder import Encoder

    if whole:
        Encoder.forward = whole_head_forward
    cfg = from_dict(config(data, cache, threads, temp_dir() / "run"))
    train_in_turns(cfg, None, block=5, report=lambda trainer: {"peak_memory": trainer.memory.peak()})


def config(data: str, cache: Path, threads: int, out: Path) -> dict:
    return {
        "data": {"path": data, "cache_dir": str(cache)}, "tokenizer": {"kind": "bpe", "vocab_size": 8192},
        "model": {"objective": "masked", "n_layer": 4, "n_head": 4, "n_embd": 256, "block_size": 128},
        "train": {"batch_size": 16, "max_steps": 10**6, "eval_interval": 10**6, "checkpoint_interval": 10**6,
                  "sample_interval": -1, "device": "cpu", "threads": threads, "compile": "off", "out_dir": str(out)}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--contender", choices=["whole", "masked"])
    ap.add_argument("--cache", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.contender:
        return contender(a.contender == "whole", a.data, a.threads, a.cache)
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent))
    import tomli_w
    from common import contenders_in_turns, temp_dir

    from engine.cli import main as engine
    from engine.run.folder import RUN_FILE

    tmp = temp_dir()
    cache = tmp / "cache"  # the corpus and its tokenizer prepared once, for both contenders
    (tmp / RUN_FILE).write_text(tomli_w.dumps(config(a.data, cache, a.threads, tmp / "run")))
    if engine(["prepare", str(tmp / RUN_FILE)]) != 0:
        sys.exit("could not prepare the corpus")
    argv = [str(Path(__file__).resolve()), "--threads", str(a.threads), "--data", a.data, "--cache", str(cache),
            "--contender"]
    r = contenders_in_turns(argv, ("whole", "masked"), a.rounds)
    whole, masked = r["whole"], r["masked"]
    print(json.dumps({"shape": f"encoder 4 x 256, batch 16 x 128, vocabulary 8192, {a.threads} threads",
                      "speed-up (whole / masked-only step)": round(whole["step_s"] / masked["step_s"], 3),
                      "memory (masked-only / whole peak)": round(masked["peak_memory"] / whole["peak_memory"], 3)}))


if __name__ == "__main__":
    main()
