"""The in-context learning score (Olsson et al., 2022): the loss late in the context minus the loss
early in it. They compare the 500th and the 50th token of 512; here the positions scale with the
context: the last eighth against the sixteenth to the eighth. Below zero, later tokens are predicted
better because the model uses what came before."""

from __future__ import annotations


def icl_positions(T: int) -> tuple[slice, slice]:
    """(early, late) position slices of a context of T tokens; neither is empty."""
    eighth = max(1, T // 8)
    return slice(min(T // 16, eighth - 1), eighth), slice(T - eighth, T)
