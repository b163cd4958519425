"""The import boundaries: the engine never imports Qt; the studio starts without torch."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    return set(out.stdout.split())


def test_the_studio_window_starts_without_torch():
    loaded = modules_after("import studio.main_window, studio.app")
    assert "PySide6" in loaded and "torch" not in loaded


def test_config_events_and_estimates_need_no_torch():
    loaded = modules_after("import engine.config.schema, engine.run.events, engine.plan.estimate, engine.run.runinfo")
    assert "torch" not in loaded and "PySide6" not in loaded


def test_the_engine_never_imports_qt():
    for path in (ROOT / "engine").rglob("*.py"):
        text = path.read_text()
        assert "PySide6" not in text and "pyqtgraph" not in text, path
