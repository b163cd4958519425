"""The Train page's second plot, which follows the run's objective: validation perplexity for a causal LM; accuracy
for a masked LM (with next-sentence accuracy), a classifier (with macro-F1) and a tagger; the generated targets'
scores on 0-100 for seq2seq and instruct; a question answerer's exact match and F1 (span).

Where the evaluations measured accuracy on the training data too (every evaluation of a classifier does), it is
drawn beside the validation accuracy: a grokking run's training accuracy reaches 100% long before its validation
accuracy climbs."""

from __future__ import annotations

from collections.abc import Callable

from engine.config.schema import PAIR_OBJECTIVES
from studio.widgets.plots import PALETTE, PERCENT, UNIT, MetricPlot

TEXT_SCORES = (("val_bleu", "BLEU", 1.0), ("val_chrf", "chrF", 1.0), ("val_rouge_l", "ROUGE-L", 100.0),
               ("val_exact_match", "exact match", 100.0),
               ("val_exact_match_first_turns", "exact match, first turns", 100.0),
               ("val_exact_match_later_turns", "exact match, later turns", 100.0))
"""The scores of generated targets (seq2seq, instruct): name, and the factor that puts it on 0-100. A run on
conversations has its exact match split too: the first assistant turns, and the later ones that need what was said
before."""
ACCURACY = (("train_accuracy", "training accuracy", PALETTE[0]), ("val_accuracy", "validation accuracy", PALETTE[1]))
"""The colours of the loss plot's training and validation curves."""
SECOND = {"masked": ("val_nsp_accuracy", "next sentence"), "classify": ("val_macro_f1", "macro-F1"),
          "tag": ("val_entity_f1", "entity F1")}
"""The score drawn beside the accuracy."""
SPAN_SCORES = (("val_exact_match", "exact match"), ("val_f1", "F1"))
"""A question answerer's scores of the answers it finds, as SQuAD defines them (0-1)."""
TITLES = {"causal": "Validation perplexity", "masked": "Masked-token and next-sentence accuracy",
          "classify": "Validation accuracy and macro-F1", "seq2seq": "Generated targets against references (0-100)",
          "instruct": "Generated responses against references (0-100)", "tag": "Validation word accuracy and entity F1",
          "span": "Validation answers: exact match and F1"}
WITH_TRAINING = {"masked": "Masked-token accuracy (training and validation) and next-sentence accuracy",
                 "classify": "Training and validation accuracy, and macro-F1",
                 "tag": "Word accuracy (training and validation) and entity F1"}
"""The titles once the training accuracy is drawn too."""
LOG_METRICS = {"causal"}
"""Objectives whose metric spans orders of magnitude (perplexity: thousands at the start, tens at the end), drawn on
a log axis whatever the log-scale box says: a linear one flattens all but the first evaluations."""
KNOWN_RANGES = {"masked": UNIT, "classify": UNIT, "tag": UNIT, "span": UNIT, "seq2seq": PERCENT, "instruct": PERCENT}


def objective_title(objective: str, *, training: bool = False) -> str:
    """The plot's title; `training`: the training accuracy is drawn beside the validation accuracy."""
    if training:
        return WITH_TRAINING.get(objective, "Training and validation accuracy")
    return TITLES.get(objective, "Validation accuracy")


def draw_objective_plot(plot: MetricPlot, run, x: Callable) -> None:
    """Set the plot's series from the run's curves; x(curve) gives a curve's x values (step or time)."""
    c = run.curves
    if run.objective == "causal":
        plot.set_series("validation", x(c["val_ppl"]), c["val_ppl"].values, color=PALETTE[1], symbol="o")
        return
    if run.objective in PAIR_OBJECTIVES:  # every score on 0-100
        for i, (key, name, scale) in enumerate(TEXT_SCORES):
            if c[key].steps:
                plot.set_series(name, x(c[key]), [v * scale for v in c[key].values],
                                color=PALETTE[(1 + i) % len(PALETTE)], symbol="o")
        return
    if run.objective == "span":  # F1 dashed: it equals exact match where every answer is found or missed whole
        for i, (key, name) in enumerate(SPAN_SCORES):
            if c[key].steps:
                plot.set_series(name, x(c[key]), c[key].values, color=PALETTE[1 + 3 * i], symbol="o", dashed=i == 1)
        return
    second = SECOND.get(run.objective)
    for key, name, color in (*ACCURACY, *([(*second, PALETTE[4])] if second else [])):
        if c[key].steps:  # the second score dashed: equal to the accuracy on balanced classes, both stay visible
            plot.set_series(name, x(c[key]), c[key].values, color=color, symbol="o", dashed=second is not None
                            and key == second[0], width=2.5 if key == "val_accuracy" else 1.5)
    title = objective_title(run.objective, training=bool(c["train_accuracy"].steps))
    if plot.getPlotItem().titleLabel.text != title:
        plot.set_title(title)
