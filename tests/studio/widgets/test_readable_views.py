"""Readable views, driven through the window: plots follow the x-axis choice, show one point and keep known
ranges, legends sit off the data; the Runs table sorts as its header shows; attention maps stay readable at
128 tokens (thinned labels, hover, the large head filling its panel, the lines view)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt

from studio.runs.page import COLUMNS
from tests.studio.fake_runs import write_run
from tests.studio.helpers import WAIT, go_to, long_text_run, open_run, point, show_recorded


def test_one_point_has_room_and_every_axis_follows_the_step_or_time_choice(qtbot, window):
    folder = write_run(window.store.runs_dir, "one-eval", started=1000.0, evals={0: float(np.log(2076.5))},
                       times={0: 4.0})
    open_run(qtbot, window, folder)
    page = window.train_page
    plot = page.ppl_plot
    qtbot.waitUntil(lambda: plot.point_count("validation") == 1, timeout=WAIT)
    (x0, x1), (y0, y1) = plot.viewRange()
    if plot._log_y():  # a perplexity's axis is logarithmic: its view range is in decades
        y0, y1 = 10**y0, 10**y1
    assert y0 < 2076.5 < y1 and 0.05 * 2076.5 <= y1 - y0 <= 0.5 * 2076.5, "a readable scale around the value"
    assert x0 + 0.1 * (x1 - x0) <= 0 <= x1 - 0.1 * (x1 - x0), "the point stands clear of the edges"
    assert {p.getAxis("bottom").labelText for p in page.plots} == {"step"}

    page.x_axis.setCurrentIndex(page.x_axis.findText("time (s)"))
    assert {p.getAxis("bottom").labelText for p in page.plots} == {"time (s)"}
    x, _ = plot.series["validation"].getData()
    (x0, x1), _ = plot.viewRange()
    assert list(x) == [4.0] and x0 + 0.1 * (x1 - x0) <= 4.0 <= x1 - 0.1 * (x1 - x0)
    page.x_axis.setCurrentIndex(page.x_axis.findText("step"))
    assert {p.getAxis("bottom").labelText for p in page.plots} == {"step"}


def test_accuracy_keeps_its_range_and_legends_sit_off_the_data(qtbot, window):
    folder = write_run(window.store.runs_dir, "classifier", started=1000.0, evals={5: 1.0, 10: 0.9},
                       objective="classify", metrics={"val_accuracy": 0.5, "val_macro_f1": 0.5},
                       task={"label_column": "label"})
    open_run(qtbot, window, folder)
    page = window.train_page
    plot = page.ppl_plot
    qtbot.waitUntil(lambda: plot.point_count("validation accuracy") == 2
                    and plot.point_count("macro-F1") == 2, timeout=WAIT)
    _, (y0, y1) = plot.viewRange()
    assert y0 <= 0 and 1 <= y1 <= 1.1, "0 to 1, not a flat line zoomed into noise"
    qtbot.waitUntil(lambda: page.loss_plot.point_count("validation") == 2, timeout=WAIT)
    for p in page.plots:
        if p.series:
            assert not p.legend.sceneBoundingRect().intersects(p.getPlotItem().vb.sceneBoundingRect()), p
    page.loss_plot.resize(260, 240)  # narrow: the names stack in rows, still above the data
    qtbot.waitUntil(lambda: page.loss_plot.legend.columnCount < len(page.loss_plot.legend.items), timeout=WAIT)
    loss = page.loss_plot
    assert not loss.legend.sceneBoundingRect().intersects(loss.getPlotItem().vb.sceneBoundingRect())


def test_the_runs_table_sorts_as_its_header_shows(qtbot, window):
    runs = window.store.runs_dir
    for name, started, params, loss in (("run-9", 1000.0, 800, 2.5), ("Alpha", 3000.0, 1_200_000, 10.25),
                                        ("run-10", 2000.0, 50_000, 3.0)):
        write_run(runs, name, started=started, n_params=params, evals={10: loss})
    window.store.refresh()
    go_to(qtbot, window, "Runs")
    table, header = window.runs_page.table, window.runs_page.table.horizontalHeader()

    def column(name: str) -> list[str]:
        return [table.item(r, COLUMNS.index(name)).text() for r in range(table.rowCount())]

    def click(name: str) -> None:
        c = COLUMNS.index(name)
        spot = QPoint(header.sectionViewportPosition(c) + header.sectionSize(c) // 2, header.height() // 2)
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=spot)
        assert header.sortIndicatorSection() == c

    assert header.sortIndicatorSection() == COLUMNS.index("Started")  # newest first, as the header shows
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    assert column("Name") == ["Alpha", "run-10", "run-9"]
    click("Name")
    order = header.sortIndicatorOrder()
    names = column("Name")
    assert names == (["Alpha", "run-9", "run-10"] if order == Qt.SortOrder.AscendingOrder else
                     ["run-10", "run-9", "Alpha"]), "natural order: 9 before 10"
    click("Parameters")
    params = column("Parameters")
    expected = ["800", "50.00k", "1.20M"]
    assert params == (expected if header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder else expected[::-1])
    click("Best val loss")
    losses = [float(v) for v in column("Best val loss")]
    assert losses == sorted(losses, reverse=header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder)
    window.store.refresh()
    qtbot.mouseClick(window.runs_page.buttons["refresh"], Qt.MouseButton.LeftButton)
    assert [float(v) for v in column("Best val loss")] == losses, "a refresh keeps the order the header shows"


def test_a_map_of_128_tokens_labels_what_fits_fills_its_panel_and_names_tokens_on_hover(qtbot, window):
    folder, tokens, maps = long_text_run(window)
    page = show_recorded(qtbot, window, folder)
    view = page.view
    assert np.allclose(view.image.image, maps[10][0, 0])
    qtbot.waitUntil(lambda: len(view.getAxis("left").drawn_labels()) >= 5, timeout=WAIT)
    for side in ("left", "bottom"):
        axis = view.getAxis(side)
        drawn = axis.drawn_labels()
        rects = [r for r, _ in drawn]
        assert 5 <= len(drawn) < 128, f"{side}: thinned, not all 128 nor none"
        assert all(not a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:]), f"{side}: no overlap"
        centres = sorted(r.center().y() if side == "left" else r.center().x() for r in rects)
        height = axis.gap() / 1.15 if side == "left" else max(r.width() for r in rects)
        assert min(np.diff(centres)) >= height, f"{side}: a label's size apart"
    assert "·internat…" in {t for _, t in view.getAxis("left").drawn_labels()} | {t for t in
                                                                                  view.getAxis("left").labels}

    plot_vb = view.getPlotItem().vb
    box, image = plot_vb.sceneBoundingRect(), view.image.sceneBoundingRect()
    assert box.width() > 1.3 * box.height(), "the panel is wide"
    assert image.width() >= 0.97 * box.width() and image.height() >= 0.97 * box.height(), "the map fills it"

    def point_at_query_100() -> bool:  # (the axes widen to their labels after a paint: aim again each time)
        point(view.viewport(), view.mapFromScene(plot_vb.mapViewToScene(QPointF(20.5, 100.5))))
        return "internationalisation" in page.hover.text()

    qtbot.waitUntil(point_at_query_100, timeout=WAIT)
    assert page.hover.text() == view.describe(100, 20) and "query 100 ·internationalisation → key 20" in \
        page.hover.text()

    view.setRange(xRange=(0, 16), yRange=(0, 16), padding=0)  # zoomed in: every token has its label
    qtbot.waitUntil(lambda: len(view.getAxis("left").drawn_labels()) == 16, timeout=WAIT)
    assert [t for _, t in view.getAxis("left").drawn_labels()] == [t.replace(" ", "·") for t in tokens[:16]]


def test_the_lines_view_draws_the_chosen_head_for_a_long_text(qtbot, window):
    folder, tokens, maps = long_text_run(window)
    page = show_recorded(qtbot, window, folder)
    page.grid.sig_head_clicked.emit(1, 2)  # the user clicks layer 1, head 2 in the grid
    bar = page.head_views.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
    lines = page.lines
    qtbot.waitUntil(lines.isVisible, timeout=WAIT)
    weights = maps[10][1, 2]
    drawn = lines.lines()
    assert drawn and all(k <= q for q, k, _ in drawn), "a causal head looks back only"
    assert all(abs(a - weights[q, k] / weights.max()) < 1e-6 for q, k, a in drawn)
    assert {q for q, _, _ in drawn} == set(range(128)), "every query token has its lines"
    assert lines.minimumHeight() >= 128 * lines.row_height(), "one row of text a token: the view scrolls"

    area = page.head_views.widget(1)
    area.ensureVisible(0, int(lines.token_rect("query", 100).center().y()))
    spot = lines.token_rect("query", 100).center().toPoint()
    point(lines, spot)
    qtbot.waitUntil(lambda: lines.focus == 100, timeout=WAIT)
    assert {q for q, _, _ in lines.lines()} == {100}, "pointing at a token: its lines alone"
    assert "internationalisation" in page.hover.text()
    qtbot.mouseClick(lines, Qt.MouseButton.LeftButton, pos=spot)
    assert page.query.currentIndex() == 100, "a click chooses the token for the shaded text below"
