"""SQuAD's exact match and F1 (engine/data/span_metrics.py) against cases computed by hand."""

from __future__ import annotations

import pytest

from engine.data.span_metrics import best_scores, exact_match, f1_score, normalize_answer


@pytest.mark.parametrize("text, normal", [
    ("The Eiffel Tower", "eiffel tower"),
    ("  an   Eiffel-Tower! ", "eiffeltower"),  # punctuation is dropped, not turned into a space
    ("A theory of the atom.", "theory of atom"),
    ("Then, they ANSWERED", "then they answered"),  # "the" inside a word stays
    ("the", ""),
])
def test_answers_are_normalised_as_squad_does(text, normal):
    assert normalize_answer(text) == normal


def test_exact_match_ignores_case_punctuation_articles_and_spaces():
    assert exact_match("the Eiffel  Tower", "Eiffel Tower.") == 1.0
    assert exact_match("Eiffel Towers", "Eiffel Tower") == 0.0


def test_f1_counts_the_shared_words_with_their_repeats():
    # prediction ada, lovelace, wrote against lovelace: 1 shared, precision 1/3, recall 1
    assert f1_score("Ada Lovelace wrote", "Lovelace") == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))
    # x y y against y y z: 2 shared (y twice), precision 2/3, recall 2/3
    assert f1_score("x y y", "y y z") == pytest.approx(2 / 3)
    # y y against y: 1 shared (y once in the gold), precision 1/2, recall 1
    assert f1_score("y y", "y") == pytest.approx(2 / 3)
    assert f1_score("in Paris", "London") == 0.0


def test_empty_answers_agree_only_with_empty_ones():
    assert f1_score("", "") == 1.0 and exact_match("", "") == 1.0
    assert f1_score("the", "") == 1.0  # an article alone normalises to nothing
    assert f1_score("", "London") == 0.0 and f1_score("London", "") == 0.0


def test_the_best_score_over_the_gold_answers_counts():
    # in paris: against "Paris, France" 1 of 2 words each way (F1 1/2); against "Paris" precision 1/2, recall 1
    assert best_scores("in Paris", ["Paris, France", "Paris"]) == (0.0, pytest.approx(2 / 3))
    assert best_scores("Paris", ["Paris, France", "the Paris"]) == (1.0, 1.0)


def test_an_unanswerable_question_scores_no_answer_one_and_any_answer_zero():
    assert best_scores("", []) == (1.0, 1.0)
    assert best_scores("London", []) == (0.0, 0.0)
    assert best_scores("", ["London"]) == (0.0, 0.0)
    assert best_scores("", ["the", "  "]) == (1.0, 1.0)  # golds that normalise to nothing are no answer
