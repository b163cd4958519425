"""The Train page repaints one plot a tick: with new events at every tick (a fast run), every plot still gets its
turn, not only the first ones (the learning-rate and throughput plots once fell thousands of steps behind)."""

from types import SimpleNamespace


def test_events_at_every_tick_still_reach_every_plot_in_turn(window, monkeypatch):
    page = window.train_page
    page.timer.stop()  # the test drives the ticks
    drawn = []
    monkeypatch.setattr(page, "_draw_plot", drawn.append)
    monkeypatch.setattr(page, "_draw_texts", lambda: None)
    monkeypatch.setattr(page, "_update_header", lambda: None)
    page.run = SimpleNamespace(version=0)
    for tick in range(12):
        page.run.version = tick + 1  # new events before each tick
        page._on_timer()
    assert drawn == [0, 1, 2, 3] * 3
    for _ in range(5):  # no new events: the three plots still waiting are drawn, then nothing more
        page._on_timer()
    assert drawn[12:] == [0, 1, 2]
