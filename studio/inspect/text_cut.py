"""The worker's word that a probe read only the start of a long text (engine/probes/text_cut.py), on the line that
shows the probe's result: no tab of the Inspect page shows the first part of a text as if it were the whole."""

from __future__ import annotations

import html

CUT_COLOR = "#92400e"
"""The amber of the page's note under the text box."""


def with_cut(message: str, cut: str | None) -> str:
    """`message` alone when the whole text was read; else `message` and, on a line below it, the cut in amber."""
    if not cut:
        return message
    return (f"{html.escape(message)}<br><span style='color:{CUT_COLOR}'>"
            f"{html.escape(cut[:1].upper() + cut[1:])}</span>")
