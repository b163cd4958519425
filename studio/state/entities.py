"""A tagger's entity scores as the Train page shows them, read from an `eval` event: entity precision, recall and F1
on the validation split overall and per entity type, as the trainer measured them (engine/data/entity_metrics.py),
and the training split's entity F1 beside them where the evaluation measured it."""

from __future__ import annotations

from dataclasses import dataclass

from engine.run.events import Event

OVERALL = "all types"
"""The first row's name: every entity counted once (micro-averaged), as the trainer's entity_f1 is."""


@dataclass(frozen=True)
class EntityRow:
    name: str
    precision: float
    recall: float
    f1: float
    support: int
    """The true entities of this type in the validation split."""


@dataclass(frozen=True)
class EntityScores:
    step: int | None
    overall: EntityRow
    types: list[EntityRow]
    train_f1: float | None = None
    """The training split's entity F1 at the same evaluation, or None where it was not measured."""

    @property
    def rows(self) -> list[EntityRow]:
        """The overall row first, then one a type in the trainer's order (sorted by name)."""
        return [self.overall, *self.types]

    def headline(self) -> str:
        """One line: the validation entity F1 with its precision and recall, the training F1, and the step."""
        o = self.overall
        train = f"; training {self.train_f1:.1%}" if self.train_f1 is not None else ""
        at = f" at step {self.step:,}" if self.step is not None else ""
        return (f"Entity F1 {o.f1:.1%} (precision {o.precision:.1%}, recall {o.recall:.1%}) on the validation "
                f"split{at}{train}")


def entity_scores(event: Event | None) -> EntityScores | None:
    """The entity scores an evaluation reported, or None for an event without them (no tagger, no evaluation)."""
    if event is None or event.get("val_entity_f1") is None:
        return None
    types = [EntityRow(name, float(s.get("precision", 0.0)), float(s.get("recall", 0.0)), float(s.get("f1", 0.0)),
                       int(s.get("support", 0)))
             for name, s in (event.get("val_entity_types") or {}).items()]
    overall = EntityRow(OVERALL, float(event.get("val_entity_precision") or 0.0),
                        float(event.get("val_entity_recall") or 0.0), float(event["val_entity_f1"]),
                        sum(t.support for t in types))
    train = event.get("train_entity_f1")
    return EntityScores(event.step, overall, types, None if train is None else float(train))
