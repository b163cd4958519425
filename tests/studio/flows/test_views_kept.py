"""What the studio shows is kept true and whole, driven through the window as a user would: Inspect says when a
long text was cut to the model's context; the Lines view's tooltip goes when the pointer leaves its token or the
map changes; a classifier's confusion matrix shows every label's row; the Runs table's sort outlives a restart."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QHelpEvent, QTextDocumentFragment
from PySide6.QtWidgets import QApplication

from engine.data.tokenizer import Tokenizer
from studio.runs.page import COLUMNS
from tests.studio.fake_runs import write_run
from tests.studio.helpers import go_to, long_text_run, open_run, open_tab, point, show_recorded

WAIT = 30000


def shown_text(label) -> str:
    """A label's text as it reads on screen (its rich text's markup and entities gone)."""
    return QTextDocumentFragment.fromHtml(label.text()).toPlainText()


def test_inspect_says_when_a_long_text_is_cut_to_the_models_context(qtbot, window_on, trained_run):
    page = window_on.inspect_page
    run = trained_run / "runs" / "pangrams"
    long_text = " ".join(["Sphinx of black quartz, judge my vow."] * 3)
    total = len(Tokenizer.load(run / "tokenizer.json").encode(long_text))
    assert total > 48, "longer than the run's context of 48 tokens"
    cut = f"Showing the first 48 of {total} tokens: the model's context is 48"

    page.text.setPlainText(long_text)
    qtbot.mouseClick(page.show_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.maps is not None and page.show_btn.isEnabled(), timeout=WAIT)
    assert len(page.tokens) == 48
    assert cut in shown_text(page.status), shown_text(page.status)

    lens = open_tab(qtbot, page, "Logit lens")
    qtbot.mouseClick(lens.run_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: lens.result is not None and lens.run_btn.isEnabled(), timeout=WAIT)
    assert lens.table.columnCount() == 48 and cut in shown_text(lens.status)

    page.text.setPlainText("Sphinx of black quartz")  # a text that fits: no word of a cut
    open_tab(qtbot, page, "Attention")
    qtbot.mouseClick(page.show_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(page.tokens) == len("Sphinx of black quartz") and page.show_btn.isEnabled(),
                    timeout=WAIT)
    assert "Showing the first" not in shown_text(page.status)


def tooltips() -> list[str]:
    """The tooltips on screen now: Qt's own or any other tooltip window."""
    return [w.text() for w in QApplication.topLevelWidgets()
            if w.isVisible() and w.windowType() == Qt.WindowType.ToolTip and hasattr(w, "text")]


def rest(widget, spot: QPoint) -> None:
    """The pointer rests on `spot`: the event Qt sends a widget after its tooltip delay."""
    QApplication.sendEvent(widget, QHelpEvent(QEvent.Type.ToolTip, spot, widget.mapToGlobal(spot)))


def test_the_lines_views_tooltip_goes_when_the_pointer_leaves_or_the_map_changes(qtbot, window):
    folder, tokens, maps = long_text_run(window)
    page = show_recorded(qtbot, window, folder)  # the steps slider has the keyboard's focus
    bar = page.head_views.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
    lines = page.lines
    qtbot.waitUntil(lines.isVisible, timeout=WAIT)
    on_token = lines.token_rect("query", 3).center().toPoint()
    between = QPoint(int(sum(lines.columns()) / 2), on_token.y())  # where the lines run, off the tokens

    point(lines, on_token)
    rest(lines, on_token)
    assert tooltips() == [lines.describe(3)], "resting on a token names what it attends to"
    point(lines, between)
    assert tooltips() == [], "off the tokens: the tooltip is gone at once"

    point(lines, on_token)
    rest(lines, on_token)
    assert tooltips() == [lines.describe(3)]
    QApplication.sendEvent(lines, QEvent(QEvent.Type.Leave))  # the pointer leaves the view
    assert tooltips() == []

    point(lines, on_token)
    rest(lines, on_token)
    assert tooltips() == [lines.describe(3)]
    qtbot.keyClick(page.steps, Qt.Key.Key_End)  # another step of training: the map changes under the pointer
    assert np.allclose(page.maps, maps[20])
    assert tooltips() == [], "a tooltip about the map before does not stay"


LABELS = ["sports", "politics", "technology", "entertainment", "business", "science", "health", "world affairs"]


def test_the_confusion_matrix_shows_every_labels_row(qtbot, window):
    k = len(LABELS)
    confusion = [[20 if r == c else r + c for c in range(k)] for r in range(k)]
    folder = write_run(window.store.runs_dir, "topics", started=1000.0, evals={5: 1.0, 10: 0.9}, objective="classify",
                       metrics={"val_accuracy": 0.5, "val_macro_f1": 0.5, "val_confusion": confusion,
                                "labels": LABELS},
                       task={"label_column": "label"})
    open_run(qtbot, window, folder)
    train = window.train_page
    bar = train.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(2).center())
    table = train.confusion.table
    qtbot.waitUntil(lambda: table.isVisible() and table.rowCount() == k and table.height() >= table.minimumHeight(),
                    timeout=WAIT)
    viewport = table.viewport().rect()
    for r in range(k):
        cell = table.visualRect(table.model().index(r, 0))
        assert viewport.contains(cell), f"row {r} ({LABELS[r]}) is on screen, not cut off below"
    assert [table.verticalHeaderItem(r).text() for r in range(k)] == LABELS
    metrics = table.fontMetrics()
    assert table.verticalHeader().width() >= max(metrics.horizontalAdvance(name) for name in LABELS), "names whole"
    for c in range(k + 1):
        assert table.columnWidth(c) >= metrics.horizontalAdvance(table.horizontalHeaderItem(c).text())
    assert train.confusion.cell(3, 3) == "20"


def test_the_runs_tables_sort_is_kept_for_the_next_window(qtbot, window, settings):
    from studio.main_window import MainWindow

    for name, started, params in (("run-9", 1000.0, 800), ("Alpha", 3000.0, 1_200_000), ("run-10", 2000.0, 50_000)):
        write_run(window.store.runs_dir, name, started=started, n_params=params)
    window.store.refresh()
    go_to(qtbot, window, "Runs")
    table, header = window.runs_page.table, window.runs_page.table.horizontalHeader()
    c = COLUMNS.index("Parameters")
    spot = QPoint(header.sectionViewportPosition(c) + header.sectionSize(c) // 2, header.height() // 2)
    for _ in range(2):  # a click sorts by the column; another turns the order round
        if header.sortIndicatorSection() == c and header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder:
            break
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=spot)
    names = [table.item(r, 0).text() for r in range(table.rowCount())]
    assert names == ["run-9", "run-10", "Alpha"], "fewest parameters first"
    window.close()

    again = MainWindow(settings)
    qtbot.addWidget(again)
    again.show()
    header = again.runs_page.table.horizontalHeader()
    assert (header.sortIndicatorSection(), header.sortIndicatorOrder()) == (c, Qt.SortOrder.AscendingOrder)
    table = again.runs_page.table
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == names
