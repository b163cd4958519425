import pytest

from engine.core.errors import UserError
from engine.data.tokenizer import Tokenizer, train_tokenizer

TEXTS = ["Hello, world! Ünïcödé and emoji 🙂🚀 stay exact.", "Line one\nLine two\n\n  indented",
         "naïve café façade — “quotes”", "数字 123 and tabs\tinside"] * 20


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_lossless_kinds_round_trip_unicode_exactly(kind):
    tok = train_tokenizer(kind, lambda: iter(TEXTS), vocab_size=400)
    for text in set(TEXTS):
        assert tok.decode(tok.encode(text)) == text


def test_char_vocabulary_is_the_corpus_characters_plus_unk():
    tok = train_tokenizer("char", lambda: iter(["abca", "cab!"]))
    assert tok.vocab_size == 5  # ! a b c <unk>
    assert tok.encode("abc") == [1, 2, 3]
    assert tok.decode(tok.encode("xyz")) == "<unk><unk><unk>"


@pytest.mark.parametrize("kind", ["wordpiece", "unigram"])
def test_subword_kinds_keep_the_words(kind):
    tok = train_tokenizer(kind, lambda: iter(TEXTS), vocab_size=300)
    decoded = tok.decode(tok.encode("Hello, world!"))
    assert "Hello" in decoded and "world" in decoded
    assert tok.vocab_size <= 300


def test_bpe_reaches_its_vocabulary_size_and_saves(tmp_path):
    words = [f"word{i} token{i % 7} piece{i % 13}" for i in range(400)]
    tok = train_tokenizer("bpe", lambda: iter(words), vocab_size=320)
    assert 256 < tok.vocab_size <= 320
    tok.save(tmp_path / "tokenizer.json")
    back = Tokenizer.load(tmp_path / "tokenizer.json")
    assert back.encode("word12 token5") == tok.encode("word12 token5")
    assert back.kind == "bpe"


def test_loading_garbage_says_so(tmp_path):
    (tmp_path / "t.json").write_text('{"not": "a tokenizer"}')
    with pytest.raises(UserError, match="not a valid tokenizer.json"):
        Tokenizer.load(tmp_path / "t.json")
    with pytest.raises(UserError, match="tokenizer file not found"):
        Tokenizer.load(tmp_path / "missing.json")


@pytest.mark.parametrize("kind", ["char", "bpe", "wordpiece"])
def test_array_encoding_equals_the_tokenizers_own(kind):
    import numpy as np

    from engine.data.tokenizer import train_tokenizer

    seen = ["hello world, héllo ✓ 😀", "Sphinx of black quartz", "naïve café"] * 20
    tok = train_tokenizer(kind, lambda: seen, vocab_size=300)
    texts = ["hello 😀 world", "zebra ✗ unseen ☃", "", "quartz\n\ncafé"]
    for got, text in zip(tok.encode_arrays(texts), texts):
        assert got.dtype == np.int64 and got.tolist() == tok.encode(text)
