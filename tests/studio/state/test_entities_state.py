"""Named entities in the studio without Qt: which sources are tagged corpora, their preview with the entities' character
offsets, Prepare's tokenizer and the engine's report, what the corpus state forgets, the Train page's entity scores
read from an eval event, and the marks the Playground draws."""

import json

import pytest

from engine.config import schema as C
from engine.core.errors import UserError
from engine.demo import make_demo_corpus
from engine.run.events import Event
from studio.state.corpus import CorpusState
from studio.state.entities import OVERALL, entity_scores
from studio.state.tagged_corpus import is_tagged, marked_sentence, prepare_tagged, preview_tagged
from studio.widgets.entity_marks import entities_line, marked_html, type_color

CONLL = "-DOCSTART- -X- -X- O\n\nAda NNP B-PER\nLovelace NNP I-PER\nvisited VBD O\nParis NNP B-LOC\n. . O\n\n" \
        "Apple NNP B-ORG\nhires VBZ O\n"


def data(path) -> C.DataConfig:
    d = C.DataConfig()
    d.path = str(path)
    return d


def test_conll_text_and_tokens_tags_jsonl_are_tagged_and_prose_tables_and_other_jsonl_are_not(tmp_path):
    (tmp_path / "a.txt").write_text(CONLL)  # CoNLL-2003 files come as .txt or without a suffix
    (tmp_path / "b.jsonl").write_text(json.dumps({"tokens": ["Ada"], "tags": ["B-PER"]}) + "\n")
    (tmp_path / "prose.txt").write_text("The quick brown fox jumps over the lazy dog.\nAnd again.\n")
    (tmp_path / "rows.jsonl").write_text(json.dumps({"text": "Ada", "label": "x"}) + "\n")
    (tmp_path / "t.csv").write_text("tokens,tags\nAda,B-PER\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "train.conll").write_text(CONLL)
    (folder / "dev.conll").write_text(CONLL)
    assert is_tagged(tmp_path / "a.txt") and is_tagged(tmp_path / "b.jsonl") and is_tagged(folder)
    for name in ("prose.txt", "rows.jsonl", "t.csv", "missing.conll"):
        assert not is_tagged(tmp_path / name), name
    assert not is_tagged("")


def test_a_sentence_is_its_words_joined_by_spaces_with_each_entitys_character_offsets():
    s = marked_sentence(["Ada", "Lovelace", "visited", "New", "York", "."],
                        ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O"])
    assert s.text == "Ada Lovelace visited New York ."
    assert [(e["kind"], e["start"], e["end"], e["text"]) for e in s.entities] == [
        ("PER", 0, 12, "Ada Lovelace"), ("LOC", 21, 29, "New York")]


def test_the_preview_counts_sentences_and_names_the_entity_types(tmp_path):
    path = tmp_path / "a.conll"
    path.write_text(CONLL)
    preview = preview_tagged(data(path))
    assert preview.sentences == 2 and preview.types == ["LOC", "ORG", "PER"] and not preview.note
    assert [s.text for s in preview.first] == ["Ada Lovelace visited Paris .", "Apple hires"]
    assert [e["text"] for e in preview.first[0].entities] == ["Ada Lovelace", "Paris"]


def test_a_bad_tagged_file_is_refused_in_the_engines_sentence(tmp_path):
    path = tmp_path / "a.conll"
    path.write_text("Ada B-PER\n" * 25 + "Lovelace E-PER\n")  # its first lines look right: read, then refused
    assert is_tagged(path)
    with pytest.raises(UserError, match=r"a\.conll line 26: the tag 'E-PER' is IOBES or BILOU"):
        preview_tagged(data(path))


@pytest.mark.parametrize("text, message", [
    ("John U-PER\nlives O\nin O\nParis U-LOC\n", r"line 1: the tag 'U-PER' is IOBES or BILOU"),
    ("-DOCSTART- -X- O\n\nJohn NNP S-PER\nSmith NNP E-PER\n", r"line 3: the tag 'S-PER' is IOBES or BILOU"),
    ("Ada B-PER\nLovelace L-PER\n", r"line 2: the tag 'L-PER' is IOBES or BILOU"),
    ("John PER\nlives O\nin O\nNew LOC\nYork LOC\n", r"line 1: the tag 'PER' is not BIO"),
])
def test_a_file_tagged_in_another_scheme_is_tagged_and_refused_when_read(tmp_path, text, message):
    path = tmp_path / "a.conll"
    path.write_text(text)
    assert is_tagged(path)
    with pytest.raises(UserError, match=message + "; tags must be BIO/IOB2"):
        preview_tagged(data(path))


@pytest.mark.parametrize("text", [
    "Hello World\nGood Morning\n",  # two words a line, capitalised
    "Call NASA\nthen FBI\n",  # upper-case last words, no O beside them
    "CHAPTER ONE\nTHE END\n",
    "I met the BBC\nin O\n",  # lines of different widths
    "Big O\nnotation , as in the Landau PER\n",
    "Ada Lovelace\nvisited Paris .\n",
])
def test_prose_stays_plain_text(tmp_path, text):
    path = tmp_path / "prose.txt"
    path.write_text(text)
    assert not is_tagged(path)


def test_prepare_trains_the_tokenizer_on_the_sentences_and_says_what_the_engine_reports(tmp_path):
    cfg = C.RunConfig()
    cfg.data.path = str(make_demo_corpus("entities", tmp_path, size_bytes=6000))
    cfg.tokenizer.kind, cfg.tokenizer.vocab_size = "wordpiece", 300
    said = []
    prepared = prepare_tagged(cfg, lambda stage, message: said.append(stage))
    assert "read" in said and "tokenizer" in said
    assert prepared.report[0].startswith(f"sentences {prepared.records:,}, words ")
    assert prepared.report[1].startswith("entities DATE ") and "PER" in prepared.report[1]
    assert not any("model.block_size" in line for line in prepared.report)  # the context is the Model page's
    assert "B-PER" not in prepared.tokenizer.hf.get_vocab()  # never trained on the tags
    assert prepared.tokens > prepared.records * 5
    assert prepared.ready_line() == (f"Ready: {prepared.records:,} tagged sentences, {prepared.tokens:,} tokens, "
                                     f"vocabulary of {prepared.vocab_size:,}.")


def test_another_source_forgets_the_tagged_preview_and_report(tmp_path):
    path = tmp_path / "a.conll"
    path.write_text(CONLL)
    state = CorpusState()
    state.choose(str(path))
    state.previewed([], preview_tagged(data(path)))
    state.set_prepared(20, 30, "Ready", ["sentences 2, words 7"])
    assert state.tagged.sentences == 2 and state.report == ["sentences 2, words 7"]
    state.forget_prepared()  # a tokenizer option changed: the report goes, the sentences stay
    assert state.report == [] and state.tagged is not None
    state.choose(str(tmp_path / "other.txt"))
    assert state.tagged is None and state.report == []


def eval_event(**fields) -> Event:
    return Event.from_dict({"type": "eval", "step": 200, "val_loss": 0.2, **fields})


def test_the_entity_scores_of_an_eval_event_overall_then_per_type():
    per_type = {"LOC": {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 2},
                "PER": {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 4}}
    scores = entity_scores(eval_event(val_entity_precision=0.75, val_entity_recall=0.6, val_entity_f1=2 / 3,
                                      val_entity_types=per_type, train_entity_f1=0.9))
    assert [r.name for r in scores.rows] == [OVERALL, "LOC", "PER"]
    assert scores.overall.support == 6 and scores.types[1].recall == 0.5
    assert scores.headline() == ("Entity F1 66.7% (precision 75.0%, recall 60.0%) on the validation split at step "
                                 "200; training 90.0%")
    assert entity_scores(eval_event(val_accuracy=0.5)) is None and entity_scores(None) is None


def test_the_marks_keep_the_text_and_say_where_each_entity_sits_after_the_type_labels():
    text = "Ada met Bo in Oslo"
    found = [{"kind": "PER", "start": 0, "end": 3, "text": "Ada", "score": 0.9},
             {"kind": "LOC", "start": 14, "end": 18, "text": "Oslo", "score": 0.8}]
    body, spans = marked_html(text, found)
    assert spans == [(0, 3), (14 + len("\u00a0PER"), 18 + len("\u00a0PER"))]
    assert type_color("PER") in body and type_color("LOC") in body and "\u00a0LOC" in body
    assert type_color("PRODUCT") == type_color("PRODUCT")  # a type of its own gets the same colour every time
    assert entities_line(found) == "2 entities: PER, LOC" and entities_line([]) == "No entities found"
