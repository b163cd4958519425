import pytest

from engine.train.schedule import learning_rate

KW = dict(lr=1e-3, min_lr=1e-4, warmup_steps=10, max_steps=110)


def test_warmup_is_linear_then_cosine_reaches_min_lr():
    assert learning_rate(0, **KW) == pytest.approx(1e-4)
    assert learning_rate(4, **KW) == pytest.approx(5e-4)
    assert learning_rate(10, **KW) == pytest.approx(1e-3)
    assert learning_rate(60, **KW) == pytest.approx(5.5e-4)  # half way: the mean of lr and min_lr
    assert learning_rate(110, **KW) == pytest.approx(1e-4)
    assert learning_rate(500, **KW) == pytest.approx(1e-4)


def test_linear_and_constant():
    assert learning_rate(60, schedule="linear", **KW) == pytest.approx(5.5e-4)
    assert learning_rate(85, schedule="linear", **KW) == pytest.approx(3.25e-4)
    assert learning_rate(100, schedule="constant", **KW) == pytest.approx(1e-3)
