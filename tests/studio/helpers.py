"""Helpers the test files share (one module, so no test file imports another)."""

from pathlib import Path

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QTextCursor, QTextDocument
from PySide6.QtWidgets import QApplication, QSplitter

from studio.main_window import PAGES
from tests.conftest import PANGRAMS
from tests.studio.conftest import tiny_model
from tests.studio.fake_runs import causal_maps, record_attention, word_tokens, write_run


def write_corpus(tmp_path: Path, name="corpus.txt") -> Path:
    p = tmp_path / name
    p.write_text("\n\n".join(PANGRAMS * 30) + "\n")
    return p


RUN_TIMEOUT = 90_000


def train_through_gui(qtbot, window, tmp_path, name="e2e", **train) -> Path:
    window.corpus_page.set_sources([write_corpus(tmp_path)])
    qtbot.mouseClick(window.corpus_page.prepare_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(window.corpus_page.use_btn.isEnabled, timeout=30000)
    qtbot.mouseClick(window.corpus_page.use_btn, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.model_page
    page = window.model_page
    page.name.setText(name)
    tiny_model(page, **train)
    assert page.train_btn.isEnabled(), page.problems.text()
    qtbot.mouseClick(page.train_btn, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.train_page
    return window.store.current


LONG = 1_000_000
"""Steps of a run that a test stops itself: no machine gets through them while the test looks on."""


WAIT = 20000


def go_to(qtbot, window, page: str) -> None:
    nav = window.nav
    spot = nav.visualItemRect(nav.item(PAGES.index(page))).center()
    qtbot.mouseClick(nav.viewport(), Qt.MouseButton.LeftButton, pos=spot)


def help_action(window, words: str):
    """The Help menu's entry whose text holds `words`, as a user picks it (the demos and labs open from there)."""
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    return next(a for a in menu.actions() if words in a.text())


def point(widget, spot: QPoint) -> None:
    """The pointer moves onto `spot` of `widget` (as the window system delivers it; QTest's own move reaches
    only a window on the offscreen screen's 800 pixels)."""
    event = QMouseEvent(QEvent.Type.MouseMove, QPointF(spot), QPointF(widget.mapToGlobal(spot)),
                        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def open_run(qtbot, window, folder) -> None:
    """Runs page: click the run's row, then Open (the Train page shows it)."""
    window.store.refresh()
    go_to(qtbot, window, "Runs")
    table = window.runs_page.table
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).data(Qt.ItemDataRole.UserRole) == str(folder))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(table.item(row, 0)).center())
    qtbot.mouseClick(window.runs_page.buttons["open"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.train_page.run is not None and window.train_page.run.path == folder, timeout=WAIT)


def long_text_run(window):
    tokens = word_tokens(128)
    tokens[100] = " internationalisation"
    folder = write_run(window.store.runs_dir, "long-text", started=1000.0, steps=20)
    maps = {10: causal_maps(2, 4, 128, seed=1), 20: causal_maps(2, 4, 128, seed=2)}
    for step, m in maps.items():
        record_attention(folder, m, tokens, step)
    return folder, tokens, maps


def show_recorded(qtbot, window, folder):
    """Inspect: choose the run, walk the attention-over-training slider back to its first step; the map's side
    of the splitter is widened."""
    window.store.refresh()
    go_to(qtbot, window, "Inspect")
    page = window.inspect_page
    page.picker.runs.setCurrentIndex(page.picker.runs.findData(str(folder)))
    page.steps.setFocus()
    qtbot.keyClick(page.steps, Qt.Key.Key_Home)
    qtbot.waitUntil(lambda: page.maps is not None and page.view.isVisible(), timeout=WAIT)
    split = page.findChild(QSplitter)
    split.setSizes([1, 10 * split.width()])
    return page


RUN = ("runs", "pangrams")


def open_tab(qtbot, page, name):
    from studio.main_window import PAGES

    page.window().nav.setCurrentRow(PAGES.index("Inspect"))
    tabs = page.tabs
    index = next(i for i in range(tabs.count()) if tabs.tabText(i) == name)
    qtbot.mouseClick(tabs.tabBar(), Qt.MouseButton.LeftButton, pos=tabs.tabBar().tabRect(index).center())
    assert tabs.currentIndex() == index
    return tabs.widget(index)


def use_corpus(qtbot, window, path: Path) -> None:
    window.corpus_page.set_sources([path])
    qtbot.mouseClick(window.corpus_page.prepare_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(window.corpus_page.use_btn.isEnabled, timeout=30000)
    qtbot.mouseClick(window.corpus_page.use_btn, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.model_page


def press_train(qtbot, window) -> Path:
    page = window.model_page
    assert page.train_btn.isEnabled(), page.problems.text()
    qtbot.mouseClick(page.train_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.train_page.status.text() == "Finished", timeout=RUN_TIMEOUT)
    return window.store.current


def predict_in_playground(qtbot, window, run_dir: Path, text: str) -> str:
    window.nav.setCurrentRow(5)
    play = window.playground_page
    play.left.picker.choose(run_dir)
    play.prompt.setPlainText(text)
    qtbot.mouseClick(play.generate_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not play.left.busy and play.generate_btn.isEnabled(), timeout=30000)
    assert "color:#b91c1c" not in play.left.state.text(), play.left.state.text()
    return play.left.output.toPlainText()


def shown_text(label) -> str:
    """What a rich-text label shows on screen (entities decoded)."""
    doc = QTextDocument()
    doc.setHtml(label.text())
    return doc.toPlainText()


def marked_chars(output) -> str:
    """The characters of the output's first paragraph drawn on a background (marked entities or an answer, with
    their labels)."""
    block = output.document().firstBlock()
    cursor = QTextCursor(output.document())
    chars = []
    for i, char in enumerate(block.text()):
        cursor.setPosition(block.position() + i + 1)  # the format of the character before the cursor
        if cursor.charFormat().background().style() != Qt.BrushStyle.NoBrush:
            chars.append(char)
    return "".join(chars)


def opened_help_demo(window, words: str, objective: str, tokenizer: str, file_name: str):
    """The Help menu's demo whose entry holds `words`, opened: the Model page shown with its recipe (`objective`,
    `tokenizer`), its corpus written as `file_name` and on the Corpus page with the same tokenizer. Returns the run
    config in the form."""
    help_action(window, words).trigger()
    page = window.model_page
    assert window.stack.currentWidget() is page
    cfg, _ = page.current_config()
    assert cfg.model.objective == objective and cfg.tokenizer.kind == tokenizer
    assert Path(cfg.data.path).name == file_name and Path(cfg.data.path).is_file()
    corpus = window.corpus_page
    assert corpus.path.text() == cfg.data.path and corpus.kind.currentText() == tokenizer
    assert corpus.vocab_size.value() == cfg.tokenizer.vocab_size
    note, status = page.demo_note, window.statusBar().currentMessage()  # the whole note beside the form, one line below
    assert not note.isHidden() and "Press Train" in note.text() and words in note.text().split(" is ready")[0]
    assert status.startswith(note.text().split(":")[0]) and len(status) < 110, status
    return cfg


def chat_run_in_playground(qtbot, window, tmp_path):
    """A tiny instruct run on the dialogue demo (tests/helpers.train_chat_demo) in the workspace, chosen on the
    Playground page; returns the page."""
    from tests.helpers import train_chat_demo

    run = train_chat_demo(tmp_path, out=window.store.runs_dir / "shop")
    window.store.refresh()
    go_to(qtbot, window, "Playground")
    play = window.playground_page
    play.left.picker.choose(run)
    return play
