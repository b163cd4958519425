"""The smoothed loss: extended point by point as a run grows, equal to smoothing the whole curve."""

import numpy as np

from studio.widgets.plots import RunningEma, ema


def test_running_smoothing_equals_smoothing_the_whole_curve():
    rng = np.random.default_rng(0)
    values = rng.normal(3.0, 0.5, 500)
    smooth = RunningEma()
    for n in (1, 2, 50, 51, 300, 500):
        assert np.allclose(smooth(values[:n], 0.6), ema(values[:n], 0.6))
    assert np.allclose(smooth(values, 0.9), ema(values, 0.9)), "a new weight starts over"
    other = values.copy()
    other[10] = 0.0
    assert np.allclose(smooth(other, 0.9), ema(other, 0.9)), "another curve starts over"
    assert smooth(values, 0.0) is values
