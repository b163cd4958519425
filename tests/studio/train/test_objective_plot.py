"""The Train page's second plot draws the scores a run's evaluations carry: a run on conversations shows its
exact match on the first assistant turns and on the later ones (which need what was said before) beside the
whole, each on 0-100."""

from types import SimpleNamespace

from studio.store import CURVES, Curve
from studio.train.objective_plot import draw_objective_plot


class RecordingPlot:
    def __init__(self):
        self.series = {}

    def set_series(self, name, xs, ys, **style):
        self.series[name] = (list(xs), list(ys))


def run_with(objective, **scores):
    curves = {k: Curve() for k in CURVES}
    for key, values in scores.items():
        for step, v in enumerate(values):
            curves[key].append(step * 100, v, float(step))
    return SimpleNamespace(objective=objective, curves=curves)


def test_a_conversation_run_plots_first_and_later_turns_exact_match():
    run = run_with("instruct", val_exact_match=[0.2, 0.9], val_exact_match_first_turns=[0.4, 1.0],
                   val_exact_match_later_turns=[0.1, 0.85], val_bleu=[10.0, 60.0])
    plot = RecordingPlot()
    draw_objective_plot(plot, run, lambda c: c.steps)
    assert plot.series["exact match, first turns"] == ([0, 100], [40.0, 100.0])
    assert plot.series["exact match, later turns"] == ([0, 100], [10.0, 85.0])
    assert plot.series["exact match"] == ([0, 100], [20.0, 90.0]) and "BLEU" in plot.series


def test_a_run_without_turns_plots_no_turn_lines():
    plot = RecordingPlot()
    draw_objective_plot(plot, run_with("seq2seq", val_exact_match=[0.5], val_bleu=[30.0]), lambda c: c.steps)
    assert set(plot.series) == {"exact match", "BLEU"}
