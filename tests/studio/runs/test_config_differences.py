"""The Runs page's config differences: a field says it differs only where it does something in both runs."""

from engine.config.schema import RunConfig
from studio.runs.config_diff import config_differences


def config(**sections) -> dict:
    d = RunConfig().to_dict()
    for section, values in sections.items():
        d[section].update(values)
    return d


def test_two_char_runs_do_not_differ_by_an_idle_vocabulary_size():
    a = config(tokenizer={"kind": "char", "vocab_size": 8192}, model={"n_layer": 2})
    b = config(tokenizer={"kind": "char", "vocab_size": 512}, model={"n_layer": 4})
    assert config_differences({"a": a, "b": b}) == ["model.n_layer: a=2 | b=4"]


def test_a_learned_vocabulary_size_and_a_change_of_kind_are_differences():
    a = config(tokenizer={"kind": "bpe", "vocab_size": 8192})
    b = config(tokenizer={"kind": "bpe", "vocab_size": 512})
    c = config(tokenizer={"kind": "char", "vocab_size": 8192})
    assert config_differences({"a": a, "b": b}) == ["tokenizer.vocab_size: a=8192 | b=512"]
    assert config_differences({"a": a, "c": c}) == ["tokenizer.kind: a='bpe' | c='char'",
                                                    "tokenizer.vocab_size: a=8192 | c (not used)"]
