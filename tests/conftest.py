"""Shared fixtures: offline, offscreen, tiny corpora written into tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

# A test's waits are hang guards, never a judgement of the machine's speed: on a slow or busy machine a condition
# that comes true late still passes. Every pytest-qt wait gets at least HANG_GUARD_MS whatever a test wrote (the
# condition is checked as often as before, so a fast machine does not wait longer); a recipe test, which trains
# for minutes, gets RECIPE_TIMEOUT_S from pytest-timeout instead of the ordinary per-test limit.
HANG_GUARD_MS = 600_000
RECIPE_TIMEOUT_S = 3600


def _at_least_the_hang_guard(wait):
    def patient(self, *args, timeout=5000, **kwargs):
        return wait(self, *args, timeout=max(timeout, HANG_GUARD_MS) if timeout > 0 else timeout, **kwargs)

    return patient


for _name in ("waitUntil", "waitSignal", "waitSignals", "waitCallback", "waitActive", "waitExposed"):
    setattr(QtBot, _name, _at_least_the_hang_guard(getattr(QtBot, _name)))


def pytest_collection_modifyitems(items):
    """Recipe tests get a longer timeout and run first, the longest (`recipe(minutes=N)`) first of all: the test
    processes then share the short tests at the end instead of one waiting alone for a long recipe."""
    for item in items:
        if item.get_closest_marker("recipe"):
            item.add_marker(pytest.mark.timeout(RECIPE_TIMEOUT_S))
    items.sort(key=lambda item: -_recipe_minutes(item))  # stable: the files' own order otherwise


def _recipe_minutes(item) -> float:
    marker = item.get_closest_marker("recipe")
    return 0.0 if marker is None else float(marker.kwargs.get("minutes", 1))


os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

SHAKESPEARE = Path(__file__).resolve().parents[2] / "shared" / "data" / "tinyshakespeare.txt"

PANGRAMS = [
    "The quick brown fox jumps over the lazy dog.",
    "Pack my box with five dozen liquor jugs!",
    "How vexingly quick daft zebras jump.",
    "Sphinx of black quartz, judge my vow.",
    "The five boxing wizards jump quickly.",
]


def pangram_text(paragraphs: int = 120) -> str:
    """Simple English text, blank-line separated paragraphs of three pangrams (about 20 kB for 120)."""
    return "\n\n".join(" ".join(PANGRAMS[(i + j) % 5] for j in range(3)) for i in range(paragraphs)) + "\n"


@pytest.fixture
def tiny_text(tmp_path: Path) -> Path:
    """About 20 kB of simple English text, blank-line separated paragraphs."""
    path = tmp_path / "corpus.txt"
    path.write_text(pangram_text(), encoding="utf-8")
    return path


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def tiny_config(data_path: Path, tmp_path: Path, **sections):
    """A RunConfig for a 1-layer model that trains in a second or two."""
    from engine.config.schema import from_dict

    base = {
        "data": {"path": str(data_path), "cache_dir": str(tmp_path / "cache")},
        "tokenizer": {"kind": "char"},
        "model": {"n_layer": 1, "n_head": 2, "n_embd": 32, "block_size": 16},
        "train": {"batch_size": 4, "max_steps": 20, "lr": 3e-3, "min_lr": 3e-4, "warmup_steps": 2,
                  "eval_interval": 10, "eval_batches": 2, "device": "cpu", "threads": 1, "sample_tokens": 8,
                  "out_dir": str(tmp_path / "run")},
    }
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    return from_dict(base)


# ----- GUI fixtures: a real main window over a workspace in tmp_path ----------------------------
@pytest.fixture
def settings(tmp_path):
    from PySide6.QtCore import QSettings

    from studio.settings import Settings

    s = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    s.workspace = tmp_path / "workspace"
    s.auto_measure = False  # no background timing in tests that do not ask for it (test_auto_measure.py does)
    s.mark_started()
    return s


@pytest.fixture
def window(qtbot, settings):
    from studio.main_window import MainWindow

    def leave(w):
        """Before the window closes, also after a failed test: no queued run starts, no trainer is left behind
        (a live run would make the close ask its question, which nobody answers here)."""
        w.queue_runner.timer.stop()
        for run_dir in w.client.running():
            w.client.procs[run_dir].kill()
            w.client.procs[run_dir].wait()

    w = MainWindow(settings)
    qtbot.addWidget(w, before_close_func=leave)
    w.show()
    yield w
    leave(w)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A workspace with one finished 2-layer run (checkpoints at steps 20, 40, 60) for Inspect and the Playground."""
    from tests.reliability.helpers import engine, write_config

    root = tmp_path_factory.mktemp("inspect")
    (root / "runs").mkdir()
    (root / "c.txt").write_text("\n\n".join(PANGRAMS * 40))
    cfg = write_config(root / "runs", root / "c.txt", "pangrams", max_steps=60, eval_interval=20)
    text = cfg.read_text().replace("n_layer = 1", "n_layer = 2").replace("block_size = 16", "block_size = 48")
    cfg.write_text(text)
    assert engine("train", cfg).returncode == 0
    return root


@pytest.fixture
def window_on(qtbot, settings, trained_run):
    from studio.main_window import MainWindow

    settings.workspace = trained_run
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    return w
