"""Concept probes with planted truth: a probe finds a concept one direction of the activations encodes and
nothing in shuffled labels; the three ways of naming a concept label the positions they should."""

import numpy as np
import pytest
import torch

from engine.core.errors import UserError
from engine.probes.concept import (
    OUT,
    Concept,
    compile_regex,
    parse_token_list,
    read_labelled_csv,
    regex_labels,
    slug,
    token_labels,
)
from engine.probes.linear_probe import probe, split_groups


def planted(n: int = 2000, d: int = 16, seed: int = 0):
    """(activations, labels, groups): the label is the sign of the activations along one direction."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    direction = torch.randn(d, generator=g)
    y = (x @ direction > 0).long().numpy()
    return x, y, np.arange(n) // 10  # groups of ten, as positions of one window


def test_a_probe_finds_a_planted_concept_and_not_a_shuffled_one():
    x, y, groups = planted()
    held = split_groups(groups)
    found = probe(x, y, held, 2)
    assert found["accuracy"] > 0.95 and found["balanced"] > 0.95
    shuffled = np.random.default_rng(1).permutation(y)
    chance = probe(x, shuffled, held, 2)
    assert abs(chance["accuracy"] - 0.5) < 0.06, chance
    assert chance["accuracy"] < found["accuracy"] - 0.3


def test_groups_are_held_out_whole():
    groups = np.repeat(np.arange(20), 5)
    held = split_groups(groups)
    assert 0 < held.sum() < len(held)
    assert not set(groups[held]) & set(groups[~held])
    assert set(groups[held]) == set(groups[split_groups(groups)])  # seeded: the same split each time


def ids_of(text: str):
    """A character vocabulary for `text`: (rows (1, T), {id: character})."""
    chars = sorted(set(text))
    return np.array([[chars.index(c) for c in text]]), dict(enumerate(chars))


def test_a_regex_labels_the_tokens_its_matches_cover():
    rows, strings = ids_of('he said "hi 42" ok')
    quoted = regex_labels(compile_regex('"[^"]*"'), rows, strings)
    assert "".join(strings[i] for i, on in zip(rows[0], quoted[0]) if on) == '"hi 42"'
    before_digit = regex_labels(compile_regex(".(?=[0-9])"), rows, strings)
    assert "".join(strings[i] for i, on in zip(rows[0], before_digit[0]) if on) == " 4"
    lookahead = regex_labels(compile_regex("(?=[0-9])"), rows, strings)  # an empty match marks the token before
    assert lookahead.tolist() == before_digit.tolist()


def test_a_token_list_labels_listed_tokens_and_leaves_the_others_out_when_labelled(tmp_path):
    rows, strings = ids_of("banana tea")
    labels, classes = token_labels(parse_token_list("a, e"), rows, strings)
    assert classes == ["other", "listed"]
    assert "".join(strings[i] for i, on in zip(rows[0], labels[0]) if on) == "aaaea"
    labels, classes = token_labels(parse_token_list("a=vowel,e=vowel,n=consonant"), rows, strings)
    assert classes == ["consonant", "vowel"]
    assert [c for c, lab in zip("banana tea", labels[0]) if lab != OUT] == list("ananaea")
    listed = tmp_path / "tokens.txt"
    listed.write_text("a\tvowel\nn\tconsonant\n")
    assert parse_token_list(str(listed)) == {"a": "vowel", "n": "consonant"}
    with pytest.raises(UserError, match="mixes plain tokens"):
        parse_token_list("a,e=vowel")


def test_a_bad_regex_or_csv_is_refused_in_a_sentence(tmp_path):
    with pytest.raises(UserError, match="does not compile"):
        compile_regex("[a-")
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence,tag\nhello,1\n")
    with pytest.raises(UserError, match="needs the columns text and label; its header is sentence, tag"):
        read_labelled_csv(str(bad))
    good = tmp_path / "good.csv"
    good.write_text("Text,Label\nhello?,question\nhello.,statement\n,empty\n")
    assert read_labelled_csv(str(good)) == (["hello?", "hello."], ["question", "statement"])


@pytest.mark.parametrize("kind, spec, name", [("csv", "/data/my labels (v2).csv", "csv-my-labels-v2"),
                                              ("regex", r"\d", "regex-d"), ("tokens", "a,e,i", "tokens-a-e-i")])
def test_a_concepts_default_name_is_a_file_name_the_command_accepts(kind, spec, name):
    assert slug(Concept(kind, spec)) == name
