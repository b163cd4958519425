"""What the Runs table sorts by: each cell's value as a number (parameters, loss, steps, time) or as words
(names in natural order: run-9 before run-10), not the text it shows ("1.2M" before "800K" as text); and the
column and order the user chose, as plain data the window keeps between sessions."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidgetItem

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
MISSING = float("-inf")
"""A cell with no value sorts before every number (first in ascending order)."""


class SortItem(QTableWidgetItem):
    """A cell that compares by its sort key (SORT_ROLE) where both cells have one."""

    def __lt__(self, other) -> bool:
        mine, theirs = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if mine is None or theirs is None or isinstance(mine, str) != isinstance(theirs, str):
            return super().__lt__(other)
        return mine < theirs


def kept_sort(header, columns: list[str]) -> dict:
    """The sort `header` shows as {"column": its name, "descending": bool} (a name, not a place: a column added
    in a later version does not shift it)."""
    section = header.sortIndicatorSection()
    return {"column": columns[section] if 0 <= section < len(columns) else None,
            "descending": header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder}


def restore_sort(table, columns: list[str], kept) -> None:
    """Sort `table` as `kept` (from kept_sort) says; nothing kept, or a column no longer there, leaves it as it is."""
    if not isinstance(kept, dict) or kept.get("column") not in columns:
        return
    order = Qt.SortOrder.DescendingOrder if kept.get("descending") else Qt.SortOrder.AscendingOrder
    table.sortByColumn(columns.index(kept["column"]), order)


def natural(text: str) -> str:
    """Words in case-free natural order: the digits of every number padded, so run-9 sorts before run-10."""
    return re.sub(r"\d+", lambda m: m.group().zfill(12), text.casefold())


def sort_keys(run, values: list[str]) -> list:
    """The sort key of each of a run's cells (`values`, as row_values shows them): numbers where the column
    holds one, words elsewhere."""
    s = run.summary
    best = _number(values[4])
    steps = re.match(r"(\d+)(/| in a )", values[6])  # "412/5000", or "412 in a 10 min budget"
    test = s.test or {}
    score = test.get("exact_match") if test.get("exact_match") is not None else test.get("loss")
    duration = _seconds(values[7])
    return [natural(values[0]), natural(values[1]), natural(values[2]), float(s.n_params or MISSING),
            best, float(score) if score is not None else MISSING, float(steps.group(1)) if steps else MISSING,
            duration, float(s.started or MISSING)]


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return MISSING


UNITS = {"ms": 0.001, "s": 1, "min": 60, "h": 3600}


def _seconds(text: str) -> float:
    """A duration as human_seconds writes it ("250 ms", "42.0 s", "3 min", "1.5 h"), in seconds."""
    found = re.fullmatch(r"([\d.]+) (ms|s|min|h)", text.strip())
    return float(found.group(1)) * UNITS[found.group(2)] if found else MISSING
