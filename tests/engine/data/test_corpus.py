import json

import numpy as np
import pytest

from engine.config.schema import DataConfig
from engine.core.errors import UserError
from engine.data.clean import CleanStats, clean_documents
from engine.data.corpus import load_documents
from engine.data.encode import prepare_corpus
from tests.conftest import tiny_config

ROWS = [{"text": f"document number {i} says hello", "label": i % 2} for i in range(30)]


def _texts(docs):
    return [t for batch in docs.iter_text() for t in batch]


def test_text_file_is_read_by_paragraph_and_joins_back_exactly(tmp_path):
    body = "First paragraph,\nstill first.\n\nSecond one.\n\n\nThird, after two blank lines.\n"
    (tmp_path / "a.txt").write_text(body)
    docs = load_documents(DataConfig(path=str(tmp_path / "a.txt")), tmp_path / "cache")
    assert "\n\n".join(_texts(docs)) == body


def test_markdown_folder_reads_every_file_recursively(tmp_path):
    (tmp_path / "notes" / "deep").mkdir(parents=True)
    (tmp_path / "notes" / "a.md").write_text("# Title\n\nalpha")
    (tmp_path / "notes" / "deep" / "b.txt").write_text("beta")
    (tmp_path / "notes" / ".hidden.txt").write_text("never read")
    texts = _texts(load_documents(DataConfig(path=str(tmp_path / "notes")), tmp_path / "cache"))
    assert sorted(texts) == ["# Title", "alpha", "beta"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet", "saved"])
def test_tabular_formats_take_the_chosen_column(tmp_path, fmt):
    import datasets

    ds = datasets.Dataset.from_list([{"body": r["text"], "label": r["label"]} for r in ROWS])
    path = tmp_path / f"data.{fmt}"
    if fmt == "jsonl":
        path.write_text("\n".join(json.dumps({"body": r["text"], "label": r["label"]}) for r in ROWS))
    elif fmt == "csv":
        ds.to_csv(str(path), index=False)
    elif fmt == "parquet":
        ds.to_parquet(str(path))
    else:
        path = tmp_path / "saved"
        ds.save_to_disk(str(path))
    docs = load_documents(DataConfig(path=str(path), text_column="body"), tmp_path / "cache")
    assert _texts(docs) == [r["text"] for r in ROWS]
    with pytest.raises(UserError, match="has no column 'text'; its columns are body, label"):
        load_documents(DataConfig(path=str(path), text_column="text"), tmp_path / "cache")


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"\x00\x01\x02binary\x00" * 100, "looks binary"),
    ("caf\u00e9 na\u00efve\n".encode("latin-1"), r"not valid utf-8 text: byte 0xe9 at offset 3"),
])
def test_unreadable_files_are_explained(tmp_path, content, message):
    (tmp_path / "bad.txt").write_bytes(content)
    with pytest.raises(UserError, match=message):
        load_documents(DataConfig(path=str(tmp_path / "bad.txt")), tmp_path / "cache")


def test_latin1_is_read_when_asked(tmp_path):
    (tmp_path / "l.txt").write_bytes("caf\u00e9\n".encode("latin-1"))
    docs = load_documents(DataConfig(path=str(tmp_path / "l.txt"), encoding="latin-1"), tmp_path / "cache")
    assert _texts(docs) == ["caf\u00e9\n"]


def test_cleaning_reports_what_each_step_removed():
    stats = CleanStats()
    docs = ["keep  this   one", "keep  this   one", "short", "\uff21BC wide letters here"]
    out = list(clean_documents(docs, normalize="NFKC", collapse_whitespace=True, dedupe=True, min_chars=8,
                               stats=stats))
    assert out == ["keep this one", "ABC wide letters here"]
    assert stats.removed == {"whitespace characters": 6, "exact duplicates": 1, "shorter than min_chars": 1}
    assert (stats.documents_in, stats.documents_out) == (4, 2)


def test_prepare_splits_the_tail_and_caches_by_content(tmp_path, tiny_text):
    cfg = tiny_config(tiny_text, tmp_path)
    first = prepare_corpus(cfg)
    train, val = first.arrays()
    text = tiny_text.read_text()
    assert first.stats.tokens == len(text) == len(train) + len(val)
    assert abs(len(val) - 0.1 * len(text)) <= 1
    assert first.tokenizer.decode(val.tolist()) == text[len(train):]
    messages = []
    again = prepare_corpus(cfg, progress=lambda stage, msg: messages.append(stage))
    assert messages == ["cache"] and again.tokens_path == first.tokens_path
    tiny_text.write_text(text + "more text\n")
    changed = prepare_corpus(cfg)
    assert changed.tokens_path != first.tokens_path and changed.stats.tokens == len(text) + 10


def test_token_files_use_uint16_when_the_vocabulary_fits(tmp_path, tiny_text):
    corpus = prepare_corpus(tiny_config(tiny_text, tmp_path))
    assert corpus.dtype == "uint16"
    assert np.memmap(corpus.tokens_path, dtype=corpus.dtype, mode="r").size == corpus.stats.tokens


def test_context_longer_than_the_data_is_refused(tmp_path):
    (tmp_path / "small.txt").write_text("just a few words of text here\n")
    cfg = tiny_config(tmp_path / "small.txt", tmp_path, model={"block_size": 64})
    with pytest.raises(UserError, match=r"fewer than model.block_size \+ 1 = 65"):
        prepare_corpus(cfg)


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_encoding_in_parallel_shards_writes_what_one_process_writes(tmp_path, kind):
    import numpy as np

    from engine.config.schema import DataConfig
    from engine.data.corpus import load_documents
    from engine.data.parallel_encode import encode_parallel
    from engine.data.token_file import encode_to_file
    from engine.data.tokenizer import train_tokenizer

    text = "\n\n".join(f"Paragraph {i}: the quick brown fox, café ✓ {i * i}" for i in range(900)) + "\n"
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(text, encoding="utf-8")
    docs = load_documents(DataConfig(path=str(corpus)), tmp_path / "cache")
    tok = train_tokenizer(kind, lambda: [t for batch in docs.iter_text() for t in batch], vocab_size=300)
    (tmp_path / "one").mkdir()
    (tmp_path / "many").mkdir()
    one = encode_to_file((t for batch in docs.iter_text() for t in batch), tok, tmp_path / "one" / "tokens.bin",
                         len(docs), lambda *a: None)
    shown = []
    many, stats = encode_parallel(docs, {"min_chars": 1}, tok, tmp_path / "many" / "tokens.bin", 3,
                                  lambda stage, msg: shown.append(msg))
    assert many == one and stats.documents_out == len(docs) == 900
    for name in ("tokens.bin", "docs.bin"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "many" / name).read_bytes()
    assert np.fromfile(tmp_path / "many" / "docs.bin", dtype=np.int64)[:2].tolist()[0] == 0
    assert sorted(p.name for p in (tmp_path / "many").iterdir()) == ["docs.bin", "tokens.bin"]


def test_one_document_per_line_reads_records_and_joins_them_with_a_newline(tmp_path):
    names = ["anna", "emma", "olivia", "ava", "isabella", "sophia", "mia"] * 20
    (tmp_path / "names.txt").write_text("\n".join(names[:3]) + "\n\n" + "\n".join(names[3:]) + "\n")
    by_line = DataConfig(path=str(tmp_path / "names.txt"), documents="line")
    assert _texts(load_documents(by_line, tmp_path / "cache")) == names  # the blank line is no record
    assert len(load_documents(DataConfig(path=str(tmp_path / "names.txt")), tmp_path / "cache")) == 2
    cfg = tiny_config(tmp_path / "names.txt", tmp_path, data={"documents": "line"})
    corpus = prepare_corpus(cfg)
    train, val = corpus.arrays()
    assert corpus.stats.documents == len(names)
    assert corpus.tokenizer.decode(np.concatenate([train, val]).tolist()) == "\n".join(names)
    paragraphs = prepare_corpus(tiny_config(tmp_path / "names.txt", tmp_path))  # another cache entry
    assert paragraphs.tokens_path != corpus.tokens_path and paragraphs.stats.documents == 2


def test_a_whole_file_can_be_one_document(tmp_path):
    (tmp_path / "a.txt").write_text("one\n\ntwo\n")
    (tmp_path / "b.txt").write_text("three\n")
    docs = load_documents(DataConfig(path=str(tmp_path), documents="file"), tmp_path / "cache")
    assert sorted(_texts(docs)) == ["one\n\ntwo\n", "three\n"]


def test_a_folder_reads_extensionless_and_gzipped_text_and_names_what_it_skips(tmp_path):
    import gzip

    from engine.data.files import find_corpus_files

    folder = tmp_path / "licenses"
    folder.mkdir()
    (folder / "LICENSE").write_text("Permission is hereby granted.\n")
    (folder / "COPYING").write_text("You may copy this.\n")
    with gzip.open(folder / "notes.txt.gz", "wt") as f:
        f.write("compressed words\n\nsecond paragraph\n")
    with gzip.open(folder / "rows.jsonl.gz", "wt") as f:
        f.write('{"text": "a row"}\n')
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    files = find_corpus_files(folder)
    assert [p.name for p in files.by_builder["text"]] == ["COPYING", "LICENSE", "notes.txt.gz"]
    assert [p.name for p in files.by_builder["json"]] == ["rows.jsonl.gz"]
    assert [(p.name, why) for p, why in files.skipped] == [("logo.png", "unknown file type '.png' that is not text")]
    texts = sorted(_texts(load_documents(DataConfig(path=str(folder)), tmp_path / "cache")))
    assert texts == ["Permission is hereby granted.\n", "You may copy this.\n", "a row", "compressed words",
                     "second paragraph\n"]
    messages = []
    prepare_corpus(tiny_config(folder, tmp_path, model={"block_size": 4}),
                   progress=lambda stage, msg: messages.append(msg))
    assert "skipped 1 file: logo.png (unknown file type '.png' that is not text)" in messages
    (folder / "broken.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(UserError, match="broken.gz"):
        find_corpus_files(folder / "broken.gz")


def test_a_folder_that_is_no_corpus_is_refused_in_a_line_and_what_cannot_be_asked_is_passed_over(tmp_path,
                                                                                                 monkeypatch):
    """/ or a home folder is not searched for minutes: past MOST_FOLDER_ENTRIES it is refused naming data.path
    (the command line exits 2); hidden folders are not entered, and an entry that raises when asked (as /proc's
    do) is passed over."""
    import pathlib

    from engine.cli import main
    from engine.data import files
    from engine.data.files import find_corpus_files

    folder = tmp_path / "texts"
    (folder / "more").mkdir(parents=True)
    (folder / ".git").mkdir()
    (folder / "a.txt").write_text("one\n")
    (folder / "more" / "b.txt").write_text("two\n")
    (folder / "more" / "odd").write_text("three\n")
    for i in range(10):
        (folder / ".git" / f"object{i}").write_text("hidden\n")
    real = pathlib.Path.is_file

    def is_file(path):
        if path.name == "odd":
            raise OSError(22, "Invalid argument", str(path))
        return real(path)

    monkeypatch.setattr(pathlib.Path, "is_file", is_file)
    monkeypatch.setattr(files, "MOST_FOLDER_ENTRIES", 4)  # a.txt, more, more/b.txt, more/odd (.git not entered)
    assert [f.name for f in find_corpus_files(folder).by_builder["text"]] == ["a.txt", "b.txt"]
    monkeypatch.setattr(files, "MOST_FOLDER_ENTRIES", 3)
    with pytest.raises(UserError, match=r"more than 3 files and folders: choose the folder of your corpus's text "
                                         r"\(data.path\)"):
        find_corpus_files(folder)
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[data]\npath = "{folder}"\n[train]\nmax_steps = 1\nout_dir = "{tmp_path / "run"}"\n')
    assert main(["train", str(cfg)]) == 2
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("kind", ["bpe", "wordpiece"])  # (unigram learns no pieces from a corpus this small)
def test_a_trained_tokenizer_learns_no_word_only_the_held_out_text_holds(tmp_path, kind):
    common = [f"the cat sat on mat number {i}" for i in range(90)]
    rare = ["zyxquvorple " * 12] * 10  # a word the held-out tenth alone says, many times over
    vocabularies = {}
    for where, docs in {"held out": common + rare, "trained on": rare + common}.items():
        corpus = tmp_path / f"{where}.txt"
        corpus.write_text("\n".join(docs) + "\n")
        cfg = tiny_config(corpus, tmp_path / where, data={"documents": "line", "val_fraction": 0.1},
                          tokenizer={"kind": kind, "vocab_size": 400})
        vocabularies[where] = set(prepare_corpus(cfg).tokenizer.hf.get_vocab())
    def pieces(vocabulary):  # tokens of four letters or more cut from the word
        return {t for t in vocabulary if len(t.lstrip("Ġ▁#")) >= 4 and t.lstrip("Ġ▁#") in "zyxquvorple"}

    assert pieces(vocabularies["trained on"])  # trained on, the word gives tokens of its own
    assert not pieces(vocabularies["held out"])  # held out, it gives none
