"""The Train page's metric plot: a causal run's perplexity (thousands at the start, tens at the end) is drawn on a log
axis whatever the log-scale box says, labelled in plain numbers; an accuracy in [0, 1] follows the box."""

import math


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


def test_a_log_axis_is_labelled_at_one_two_and_five_of_each_decade_in_plain_numbers(window):
    axis = window.train_page.ppl_plot.getPlotItem().getAxis("left")
    values = [math.log10(v) for v in (100, 200, 300, 500, 900, 1000, 2000, 0.5, 0.7)]
    assert axis.logTickStrings(values, 1.0, 1.0) == ["100", "200", "", "500", "", "1,000", "2,000", "0.5", ""]
