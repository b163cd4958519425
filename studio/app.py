"""Start-up: find a display (or say there is none and run the demo headless), then open the main window."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM") in ("offscreen", "minimal", "vnc"):
        return True
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m studio", description="Attention Studio")
    p.add_argument("--workspace", help="the workspace folder (default: the one chosen before)")
    p.add_argument("--demo", action="store_true", help="open on the built-in demo corpus and preset")
    p.add_argument("--headless-demo", action="store_true", help="train the demo in this terminal, no window")
    args = p.parse_args(argv)
    if args.headless_demo or not has_display():
        if not args.headless_demo:
            print("No display found (DISPLAY and WAYLAND_DISPLAY are unset): running the built-in demo headless "
                  "instead.\nOn a desktop, run this again to open the studio window.", file=sys.stderr)
        return run_headless_demo(args.workspace)
    from PySide6.QtWidgets import QApplication

    from studio.main_window import MainWindow
    from studio.settings import Settings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Attention Studio")
    app.setOrganizationName("AttentionStudio")
    settings = Settings()
    if args.workspace:
        settings.workspace = Path(args.workspace)
    window = MainWindow(settings)
    install_error_dialog(window)
    window.show()
    if args.demo or (settings.first_start and not window.restored):  # later starts reopen the user's work
        window.offer_demo()
    return app.exec()


def install_error_dialog(window) -> None:
    """An unexpected error in the GUI becomes a message in words (details go to stderr), never a dead window."""
    import traceback

    from PySide6.QtWidgets import QMessageBox

    def hook(kind, value, tb):
        traceback.print_exception(kind, value, tb)
        QMessageBox.warning(window, "Something went wrong",
                            f"{kind.__name__}: {value}\n\nYour runs and files are safe. The details were written to "
                            "the terminal; please report them.")

    sys.excepthook = hook


def run_headless_demo(workspace: str | None) -> int:
    from engine.cli import main as engine_main
    from engine.demo import demo_config_toml, make_demo_corpus
    from engine.runqueue.queue_file import DEFAULT_WORKSPACE

    root = Path(workspace or DEFAULT_WORKSPACE)
    corpus = make_demo_corpus("python-stdlib", root / "corpora", size_bytes=400_000)
    n = 1
    while (root / "runs" / f"demo-{n}").exists():
        n += 1
    out = root / "runs" / f"demo-{n}"
    cfg = root / "configs" / f"demo-{n}.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(demo_config_toml(corpus, out))
    print(f"training the demo model on {corpus} into {out}", file=sys.stderr)
    return engine_main(["train", str(cfg), "--human"])
