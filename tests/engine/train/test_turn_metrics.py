"""Exact match of held-out assistant turns, split into first and later turns, against counts made by hand."""

from engine.train.text_metrics import exact_match
from engine.train.turn_metrics import turn_metrics


def test_first_and_later_turns_are_scored_apart():
    answers = ["The lamp is blue.", " The lamp costs 12 euros. ", "The mug is white.", "The mug costs 9 euros."]
    references = ["The lamp is blue.", "The lamp costs 12 euros.", "The mug is red.", "The mug costs 6 euros."]
    # turn 1 right, turn 2 right (spaces trimmed), turn 1 wrong, turn 3 wrong: first 1/2, later 1/2, all 2/4
    assert turn_metrics(answers, references, [1, 2, 1, 3]) == {"exact_match_first_turns": 0.5,
                                                               "exact_match_later_turns": 0.5}
    assert exact_match(answers, references) == 0.5
    assert turn_metrics(answers[:1], references[:1], [1]) == {"exact_match_first_turns": 1.0}  # no later turn: absent
