"""The Train page's metric plot: a causal run's perplexity (thousands at the start, tens at the end) is drawn on a log
axis whatever the log-scale box says; an accuracy in [0, 1] follows the box."""


def log_y(plot) -> bool:
    return plot.getPlotItem().getAxis("left").logMode


def test_perplexity_is_drawn_on_a_log_axis_and_accuracy_follows_the_box(window):
    page = window.train_page
    page._set_objective("causal")
    assert log_y(page.ppl_plot) and not log_y(page.loss_plot)
    page.log_y.setChecked(True)
    page.log_y.setChecked(False)  # unticked: the loss goes back to linear, perplexity stays on its log axis
    assert log_y(page.ppl_plot) and not log_y(page.loss_plot)
    page._set_objective("classify")
    assert not log_y(page.ppl_plot)
    page.log_y.setChecked(True)
    assert log_y(page.ppl_plot) and log_y(page.loss_plot)
