"""Helpers the test files share (one module, so no test file imports another)."""

from pathlib import Path

from engine.model.gpt import GPTConfig
from engine.run.events import EventWriter, read_events
from engine.train.trainer import Trainer


def train(cfg, *, resume=False, stop_at=None, on_event=None):
    """Train in this process; `stop_at` asks for a stop through the control file, as the studio does;
    `on_event(trainer, event)` sees each event as it is written."""
    from engine.run.control import request

    writer = EventWriter(None)
    if stop_at:
        writer.listeners.append(lambda e: e.type == "step" and e.step == stop_at
                                and request(cfg.train.out_dir, "stop"))
    trainer = Trainer(cfg, events=writer, resume=resume)
    if on_event:
        writer.listeners.append(lambda e: on_event(trainer, e))
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


def train_span_demo(folder: Path, *, steps: int = 60, size_bytes: int = 40_000, **model) -> Path:
    """A tiny question answerer (model.objective = "span", `model` overriding its shape) trained briefly on the qa
    demo; returns its run folder."""
    from engine.demo import make_demo_corpus
    from tests.conftest import tiny_config

    corpus = make_demo_corpus("qa", folder, size_bytes=size_bytes)
    cfg = tiny_config(corpus, folder, tokenizer={"kind": "wordpiece", "vocab_size": 300},
                      model={"objective": "span", "n_layer": 1, "n_head": 2, "n_embd": 32, "block_size": 48,
                             **model},
                      train={"max_steps": steps, "eval_interval": steps // 2, "batch_size": 16, "lr": 3e-3,
                             "warmup_steps": 5, "eval_batches": 2})
    train(cfg)
    return folder / "run"


def train_chat_demo(folder: Path, *, steps: int = 20, size_bytes: int = 20_000, out: Path | None = None) -> Path:
    """A tiny instruct run trained briefly on the dialogue demo's conversations (its answers need not be right);
    returns its run folder (`out`, or folder/"run")."""
    from engine.demo import make_demo_corpus
    from tests.conftest import tiny_config

    corpus = make_demo_corpus("dialogue", folder, size_bytes=size_bytes)
    cfg = tiny_config(corpus, folder, tokenizer={"kind": "bpe", "vocab_size": 300},
                      model={"objective": "instruct", "block_size": 256},
                      task={"metric_samples": 2}, train={"max_steps": steps, "eval_interval": steps, "lr": 5e-3})
    if out is not None:
        cfg.train.out_dir = str(out)
    train(cfg)
    return Path(cfg.train.out_dir)
