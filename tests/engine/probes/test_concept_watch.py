"""`train.concept_regex`: a concept probed at each evaluation of a training run, its accuracy per layer in the
eval events; a regex that labels nothing is said once in the events, and a bad one is refused by the config."""

from engine.config.rules import problems
from engine.run.events import read_events
from tests.conftest import pangram_text, tiny_config
from tests.helpers import train


def evals(run_dir):
    return [e for e in read_events(run_dir / "events.jsonl") if e.type == "eval"]


def test_each_evaluation_records_the_concepts_accuracy_per_layer(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(pangram_text(), encoding="utf-8")
    cfg = tiny_config(corpus, tmp_path, train={"concept_regex": "[aeiou]"})
    train(cfg)
    found = evals(tmp_path / "run")
    assert [e.step for e in found] == [0, 10, 20]
    for e in found:
        assert set(e["concept_accuracy"]) == {"embed", "0"}  # one layer: the embeddings and block 0
        assert e["concept_accuracy"]["embed"] > 0.95  # a token's embedding says whether it is a vowel
        assert "head_scores" in e.fields


def test_a_regex_that_labels_nothing_is_said_once_and_training_goes_on(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(pangram_text(), encoding="utf-8")
    train(tiny_config(corpus, tmp_path, train={"concept_regex": "[0-9]"}))
    first, *later = evals(tmp_path / "run")
    assert "one label" in first["concept_problem"] and "concept_accuracy" not in first.fields
    assert later and not any("concept_problem" in e.fields for e in later)


def test_the_config_refuses_a_bad_regex_and_a_run_without_a_token_stream(tmp_path):
    cfg = tiny_config(tmp_path / "corpus.txt", tmp_path, train={"concept_regex": "[a-"})
    assert any("train.concept_regex '[a-' does not compile" in p for p in problems(cfg))
    cfg = tiny_config(tmp_path / "corpus.txt", tmp_path, model={"objective": "classify"},
                      train={"concept_regex": "a"})
    assert any("train.concept_regex labels a language model's" in p for p in problems(cfg))
