"""Tokens as shaded text: each token's background as strong as its weight (the attention a token gets, a feature's
activation on it), one token marked with a red underline (the query, the position a feature fires at)."""

from __future__ import annotations

import html

BLUE = (37, 99, 235)
"""Attention: where the chosen token looks."""
ORANGE = (234, 88, 12)
"""A feature's activation."""


def shaded_html(tokens: list[str], weights, *, mark: int | None = None, color: tuple[int, int, int] = BLUE,
                top: float | None = None) -> str:
    """Rich text for a QLabel: token i shaded by weights[i] / top (top: the largest weight unless given), token
    `mark` underlined; a newline shows as ↵ so a context stays on its line."""
    top = max(float(top if top is not None else max(weights, default=0.0)), 1e-6)
    r, g, b = color
    spans = []
    for i, (token, w) in enumerate(zip(tokens, weights)):
        alpha = max(0.0, min(1.0, float(w) / top))
        border = "border-bottom:2px solid #d62728;text-decoration:underline;" if i == mark else ""
        shown = html.escape(token).replace("\n", "&#8629;")
        spans.append(f'<span style="background:rgba({r},{g},{b},{alpha:.2f});{border}">{shown}</span>')
    return "".join(spans)
