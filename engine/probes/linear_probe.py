"""A linear probe: a logistic regression from activations to a concept's labels, fitted on one part of the
examples and scored on the rest (Alain and Bengio 2016, "Understanding intermediate layers using linear
classifier probes").

The examples are split by group (a window of tokens, a CSV row), never position by position, so no held-out
position has a neighbour it shares a context with among the fitted ones. Activations are standardised with the
fitted part's mean and spread; the fit is L-BFGS on the cross-entropy with a small L2 penalty.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

HELD_OUT = 0.3
"""The share of groups scored, not fitted."""
L2 = 1e-3
"""The weights' L2 penalty (on standardised activations)."""


def split_groups(groups: np.ndarray, *, held_out: float = HELD_OUT, seed: int = 0) -> np.ndarray:
    """A bool mask over the examples: True for those whose group is held out (a seeded share of the groups)."""
    names = np.unique(groups)
    order = np.random.default_rng(seed).permutation(names)
    n_out = min(max(1, int(round(held_out * len(names)))), len(names) - 1)
    return np.isin(groups, order[:n_out])


def fit_logistic(x: torch.Tensor, y: torch.Tensor, n_classes: int, *, l2: float = L2, iters: int = 100):
    """A function from activations (N, C) to predicted class indices, fitted to (x, y)."""
    x = x.double()
    mean, std = x.mean(dim=0), x.std(dim=0).clamp_min(1e-6)
    z = (x - mean) / std
    w = torch.zeros(x.shape[1], n_classes, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=iters, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(z @ w + b, y) + l2 * w.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    w, b = w.detach(), b.detach()
    return lambda new: ((new.double() - mean) / std @ w + b).argmax(dim=1)


def probe(x: torch.Tensor, y: np.ndarray, held: np.ndarray, n_classes: int) -> dict:
    """Fit on the examples not `held` and score both parts: {accuracy (held out), train_accuracy, chance (the
    held-out share of the fitted part's commonest class: what always guessing it scores), balanced (the held-out
    accuracy averaged over the classes present)}."""
    labels = torch.as_tensor(y, dtype=torch.long)
    fit, out = torch.as_tensor(~held), torch.as_tensor(held)
    predict = fit_logistic(x[fit], labels[fit], n_classes)
    guess, truth = predict(x[out]), labels[out]
    common = int(torch.bincount(labels[fit], minlength=n_classes).argmax())
    recalls = [float((guess[truth == c] == c).double().mean()) for c in range(n_classes) if bool((truth == c).any())]
    return {"accuracy": round(float((guess == truth).double().mean()), 4),
            "train_accuracy": round(float((predict(x[fit]) == labels[fit]).double().mean()), 4),
            "chance": round(float((truth == common).double().mean()), 4),
            "balanced": round(float(np.mean(recalls)), 4)}
