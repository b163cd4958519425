"""A concept probed at each evaluation while the run trains (`train.concept_regex`, off by default): a linear probe
per layer (engine/probes/concepts.py) on WATCH_POSITIONS positions of the run's validation tokens, its held-out
accuracy per layer put in the eval event as `concept_accuracy` ({"embed": ..., "0": ..., ...}). `engine concept`
gives the same table from the checkpoints afterwards, off the training process, on more positions.
"""

from __future__ import annotations

from pathlib import Path

from engine.core.errors import UserError
from engine.probes.concept import Concept, compile_regex
from engine.probes.concepts import check_examples, examples_of
from engine.probes.linear_probe import probe, split_groups
from engine.probes.residuals import layer_label, layer_names, validation_tokens

WATCH_POSITIONS = 2048
"""Validation positions labelled and probed at each evaluation (fewer than `engine concept`'s: it is cheaper)."""


class ConceptWatch:
    """The run's regex concept, its examples read once (at the first evaluation, when the run folder holds the
    run's config and tokenizer), then probed at every evaluation."""

    def __init__(self, regex: str, run_dir: Path):
        self.concept, self.pattern, self.run_dir = Concept("regex", regex), compile_regex(regex), Path(run_dir)
        self.examples = self.held = None
        self.problem: str | None = None

    def _prepare(self) -> None:
        tokenizer, val, context = validation_tokens(self.run_dir)
        examples, self.concept.classes = examples_of(self.concept, self.pattern, tokenizer, val, context,
                                                     WATCH_POSITIONS)
        held = split_groups(examples.groups)
        check_examples(examples, self.concept.classes, held)
        self.examples, self.held = examples, held

    def at_eval(self, model) -> dict:
        """The eval event's `concept_accuracy`; on the first evaluation where the concept cannot be probed (one
        label only in the sample), `concept_problem` saying why, and nothing after."""
        if self.problem is not None:
            return {}
        if self.examples is None:
            try:
                self._prepare()
            except UserError as e:
                self.problem = str(e)
                return {"concept_problem": self.problem}
        names = layer_names(model)
        acts = self.examples.read(model, names)
        return {"concept_accuracy": {layer_label(n): probe(acts[n], self.examples.y, self.held,
                                                           len(self.concept.classes))["accuracy"] for n in names}}
