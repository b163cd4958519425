"""LoRA adapters, classification metrics, and the encoder's heads."""

import numpy as np
import pytest
import torch

from engine.data.labelled import classification_metrics
from engine.model.build import build_model
from tests.helpers import small


def test_classification_metrics_against_hand_computed_values():
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 0])
    preds = np.array([0, 1, 0, 1, 2, 2, 2, 0, 2, 0])
    m = classification_metrics(labels, preds, 3)
    # class 0: tp 3, predicted 4, actual 4 -> p 3/4, r 3/4, f1 0.75
    # class 1: tp 1, predicted 2, actual 2 -> f1 0.5
    # class 2: tp 3, predicted 4, actual 4 -> f1 0.75
    assert m["accuracy"] == pytest.approx(0.7)
    assert m["macro_f1"] == pytest.approx((0.75 + 0.5 + 0.75) / 3)
    assert m["confusion"] == [[3, 1, 0], [0, 1, 1], [1, 0, 3]]


def test_a_class_never_predicted_counts_zero_in_macro_f1():
    m = classification_metrics(np.array([0, 0, 1, 1]), np.array([0, 0, 0, 0]), 2)
    # class 0: p 2/4, r 1 -> f1 2/3; class 1: never predicted -> 0
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0) / 2)
    assert m["accuracy"] == 0.5


def test_the_encoder_attends_both_ways_and_ignores_padding():
    torch.manual_seed(0)
    enc = build_model(small(arch="bert")).eval()
    x = torch.randint(4, 50, (1, 8))
    later = x.clone()
    later[0, 6] = (later[0, 6] + 1) % 50
    with torch.no_grad():
        a, b = enc(x)[0], enc(later)[0]
        assert not torch.allclose(a[0, 0], b[0, 0]), "the first token sees a later one"
        padded = torch.cat([x, torch.zeros(1, 4, dtype=torch.long)], 1)
        out = enc(padded, lengths=torch.tensor([8]))[0]
        assert torch.allclose(out[0, :8], a[0], atol=1e-5), "padding changes nothing"


def test_a_decoder_classifier_reads_the_last_real_token():
    torch.manual_seed(0)
    model = build_model(small(num_labels=2)).eval()
    x = torch.randint(0, 50, (1, 6))
    padded = torch.cat([x, torch.full((1, 3), 7)], 1)
    with torch.no_grad():
        assert torch.allclose(model(x)[0], model(padded, lengths=torch.tensor([6]))[0], atol=1e-6)
