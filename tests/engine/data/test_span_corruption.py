"""T5's span corruption (engine/data/span_corruption.py): what is dropped, where it goes, and that it fits."""

import numpy as np
import pytest

from engine.data.span_corruption import corrupt, partition, span_counts, window_length


@pytest.mark.parametrize("total, parts", [(10, 1), (10, 3), (40, 13), (5, 5)])
def test_a_partition_has_positive_parts_summing_to_the_total(total, parts):
    for seed in range(20):
        sizes = partition(total, parts, np.random.default_rng(seed))
        assert len(sizes) == parts and sizes.sum() == total and (sizes > 0).all()


def test_the_source_and_target_put_every_token_back_in_order():
    tokens = list(range(100, 164))
    sentinels = [1, 2, 3, 4, 5, 6, 7, 8]
    for seed in range(25):
        src, tgt = corrupt(tokens, sentinels, np.random.default_rng(seed))
        # filling each sentinel of the source with what follows it in the target gives the window back
        spans, current = {}, None
        for t in tgt:
            if t in sentinels:
                current = spans.setdefault(t, [])
            else:
                current.append(t)
        rebuilt = [x for t in src for x in (spans[t] if t in sentinels else [t])]
        assert rebuilt == tokens
        assert [t for t in src if t in sentinels] == [t for t in tgt if t in sentinels]  # the same, in order


def test_about_the_density_is_dropped_in_spans_of_mean_three():
    noise, spans = span_counts(200, 0.15, 3.0, max_spans=100)
    assert (noise, spans) == (30, 10)
    tokens, sentinels = list(range(1000, 1200)), list(range(100))
    src, tgt = corrupt(tokens, sentinels, np.random.default_rng(0))
    assert len(tgt) - spans == noise and len(src) == 200 - noise + spans
    assert span_counts(5, 0.15, 3.0, max_spans=100) == (1, 1)  # at least one token, one span, one kept


def test_the_window_is_the_longest_whose_source_and_target_fit():
    n = window_length(48, 16, n_sentinels=32)
    noise, spans = span_counts(n, 0.15, 3.0, 32)
    assert n - noise + spans + 1 <= 48 and noise + spans + 1 <= 16  # each with its <eos>
    noise, spans = span_counts(n + 1, 0.15, 3.0, 32)
    assert not (n + 1 - noise + spans + 1 <= 48 and noise + spans + 1 <= 16)
