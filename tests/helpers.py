"""Helpers the test files share (one module, so no test file imports another)."""

from pathlib import Path

from engine.model.gpt import GPTConfig
from engine.run.events import EventWriter, read_events
from engine.train.trainer import Trainer


def train(cfg, *, resume=False, stop_at=None):
    """Train in this process; `stop_at` asks for a stop through the control file, as the studio does."""
    from engine.run.control import request

    writer = EventWriter(None)
    if stop_at:
        writer.listeners.append(lambda e: e.type == "step" and e.step == stop_at
                                and request(cfg.train.out_dir, "stop"))
    trainer = Trainer(cfg, events=writer, resume=resume)
    trainer.setup()
    try:
        reason = trainer.fit()
        writer.emit("finished", trainer.step, reason=reason)
    finally:
        trainer.close()
        writer.close()
    return trainer


def step_losses(run_dir: Path) -> dict[int, float]:
    return {e.step: e["loss"] for e in read_events(run_dir / "events.jsonl") if e.type == "step"}


def write_config(tmp_path, data_path, model=None, train=None, data=None, tokenizer=None):
    import tomli_w

    cfg = {"data": {"path": str(data_path), "cache_dir": str(tmp_path / "cache")} | (data or {}),
           "tokenizer": {"kind": "char"} | (tokenizer or {}),
           "model": {"n_layer": 1, "n_head": 1, "n_embd": 16, "block_size": 8} | (model or {}),
           "train": {"batch_size": 2, "max_steps": 2, "device": "cpu", "out_dir": str(tmp_path / "run")}
           | (train or {})}
    path = tmp_path / "run.toml"
    path.write_text(tomli_w.dumps(cfg))
    return path


def small(**kw):
    return GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=32, **kw)
