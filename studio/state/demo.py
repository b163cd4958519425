"""The demo a first start offers: the Python standard library as a corpus and the engine's demo preset
(engine/demo). The Model page says what the demo is only while its form holds it: another corpus, tokenizer,
shape or length of training makes the run the user's own."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from engine.config import schema as C
from engine.demo import demo_config_toml, demo_path
from engine.runqueue.queue_file import slug

DEMO_CORPUS = "python-stdlib"


def demo_config(corpus: Path, runs_dir: Path) -> C.RunConfig:
    """The demo preset on the demo corpus at `corpus`, writing its run into `runs_dir`."""
    return C.loads(demo_config_toml(corpus, Path(runs_dir) / "demo"))


def holds_demo(name: str, cfg: C.RunConfig, corpora_dir: Path) -> bool:
    """Whether the run `name` of `cfg` is the demo the words describe: its name, its corpus, its tokenizer and
    model, and how long it trains ("a small model of the Python standard library, which trains in minutes")."""
    demo = demo_config(demo_path(DEMO_CORPUS, corpora_dir), Path("runs"))
    return name == demo.name and _same_path(cfg.data.path, demo.data.path) and _what(cfg) == _what(demo)


def _what(cfg: C.RunConfig) -> tuple:
    t = cfg.train
    return asdict(cfg.tokenizer), asdict(cfg.model), (t.max_steps, t.batch_size, t.grad_accum)


def _same_path(a: str, b: str) -> bool:
    return bool(a) and Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


PLACEHOLDER_NAMES = ("", "my-model", "demo")
"""Run names no user chose: the Model page's first name and the demo's."""


def name_for_corpus(name: str, old_path: str, new_path: str) -> str:
    """The run's name once the Model page takes another corpus: a name no user chose (a placeholder, or the one
    this gave the corpus before) becomes the new corpus's file or folder name; a name the user typed stays."""
    if name not in PLACEHOLDER_NAMES and name != _corpus_name(old_path):
        return name
    return _corpus_name(new_path) or name


def _corpus_name(path: str) -> str:
    stem = Path(path.removeprefix(C.DEMO_PREFIX)).stem if path else ""
    return slug(stem) if stem else ""
