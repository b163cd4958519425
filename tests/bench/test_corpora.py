"""The benchmark's corpus suite (bench/corpora.py): every corpus this machine can make is non-empty, of its kind,
and the same bytes at every build; a corpus whose source is missing is skipped with a sentence saying why."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def bench_module(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # (its dataclasses look it up there)
    spec.loader.exec_module(module)
    return module


corpora = bench_module("corpora")
SIZE = 40_000


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory):
    return [corpora.build(tmp_path_factory.mktemp(f"build{i}"), SIZE) for i in range(2)]


def test_every_corpus_is_built_or_skipped_with_why(two_builds):
    first, _ = two_builds
    assert [c.name for c, _, _ in first] == ["prose", "names", "code", "table", "man", "prose-bpe"]
    for corpus, path, skipped in first:
        if path is None:
            assert skipped.endswith("on this machine") and corpus.name in ("prose", "prose-bpe", "man")
            continue
        text = path.read_text(encoding="utf-8")
        assert 0.5 * SIZE < len(text) <= SIZE, corpus.name  # about the size asked
        assert ROOT not in path.resolve().parents  # never written into the repository


def test_each_build_gives_the_same_bytes(two_builds):
    first, second = two_builds
    for (corpus, a, _), (_, b, _) in zip(first, second):
        if a is not None:
            assert a.read_bytes() == b.read_bytes(), corpus.name


def test_the_corpora_are_of_their_kinds(two_builds):
    built = {c.name: (c, p) for c, p, _ in two_builds[0] if p is not None}
    names = built["names"][1].read_text().splitlines()
    assert len(names) > 500 and max(map(len, names)) < 100 and all(n.isupper() for n in names)
    assert "def " in built["code"][1].read_text()
    rows = built["table"][1].read_text().splitlines()
    assert rows[0] == "date,city,product,units,unit_price,total" and all(r.count(",") == 5 for r in rows)
    assert built["names"][0].documents == "line" and built["table"][0].held_out
    if "prose-bpe" in built:
        assert built["prose-bpe"][0].tokenizer == {"kind": "bpe", "vocab_size": 1024}
        assert built["prose-bpe"][1].read_bytes() == built["prose"][1].read_bytes()


def test_a_corpus_gives_a_run_config_of_only_its_data_and_tokenizer(tmp_path):
    from engine.config.schema import load
    from engine.core.tomlio import parse_toml

    corpus, path, _ = corpora.build(tmp_path, SIZE, ["names"])[0]
    text = corpus.config_toml(path, str(tmp_path / "cache"))
    assert set(parse_toml(text)) == {"meta", "data", "tokenizer"}  # the rest is the dial's
    (tmp_path / "run.toml").write_text(text)
    cfg = load(tmp_path / "run.toml")
    assert cfg.data.path == str(path) and cfg.data.documents == "line" and cfg.tokenizer.kind == "char"
    assert cfg.data.cache_dir == str(tmp_path / "cache")


def test_an_unknown_corpus_is_refused_naming_the_choices(tmp_path):
    with pytest.raises(SystemExit, match="no corpus poetry in the suite; choose among prose, names"):
        corpora.build(tmp_path, SIZE, ["poetry"])
