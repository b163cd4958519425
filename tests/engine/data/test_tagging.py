"""Token classification (named entities): tagged files read and refused, words labelled on their first piece,
entity metrics against hand-computed values and seqeval, the tagger heads, a run of the demo that learns,
`predict`, and an export that transformers' token-classification pipeline reads the same way."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from engine.core.errors import UserError
from engine.data.entity_metrics import entity_counts, entity_scores
from engine.data.tagged import read_tagged, tag_names, word_pieces
from engine.data.tokenizer import train_tokenizer

CONLL = """-DOCSTART- -X- -X- O

Ada NNP B-PER
Lovelace NNP I-PER
visited VBD O
Paris NNP B-LOC
. . O

Apple NNP B-ORG
hires VBZ O
"""


# ----- reading --------------------------------------------------------------------------------------
def test_conll_is_read_sentence_by_sentence_with_the_tag_in_the_last_column(tmp_path):
    path = tmp_path / "train.conll"
    path.write_text(CONLL)
    sentences = read_tagged(path)
    assert [s.words for s in sentences] == [["Ada", "Lovelace", "visited", "Paris", "."], ["Apple", "hires"]]
    assert [s.tags for s in sentences] == [["B-PER", "I-PER", "O", "B-LOC", "O"], ["B-ORG", "O"]]
    assert tag_names([], sentences) == ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    assert tag_names(["O", "B-X"], sentences) == ["O", "B-X"]


def test_jsonl_rows_hold_tokens_and_tags(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps({"tokens": ["Jordan", "won"], "tags": ["B-PER", "O"]}) + "\n\n"
                    + json.dumps({"tokens": ["in", "Jordan"], "tags": ["O", "B-LOC"], "id": 7}) + "\n")
    sentences = read_tagged(path)
    assert [(s.words, s.tags) for s in sentences] == [(["Jordan", "won"], ["B-PER", "O"]),
                                                      (["in", "Jordan"], ["O", "B-LOC"])]


@pytest.mark.parametrize("name, text, message", [
    ("a.conll", "Ada B-PER\nLovelace E-PER\n", r"a\.conll line 2: the tag 'E-PER' is IOBES or BILOU; tags must be "
                                               r"BIO/IOB2"),
    ("a.conll", "Ada B-PER\nLovelace PER\n", r"a\.conll line 2: the tag 'PER' is not BIO"),
    ("a.conll", "Ada B-PER\n\nLovelace\n", r"a\.conll line 3: 'Lovelace' has no tag"),
    ("a.jsonl", '{"tokens": ["Ada"], "tags": ["B-PER"]}\n{"tokens": ["Ada", "Lovelace"], "tags": ["B-PER"]}\n',
     r"a\.jsonl line 2 has 2 tokens but 1 tags: each token needs one tag"),
    ("a.jsonl", '{"tokens": ["Ada"], "tags": [3]}\n', r"a\.jsonl line 1: the tag '3' is a number, not a tag name"),
    ("a.jsonl", '{"words": ["Ada"]}\n', r"a\.jsonl has no tokens and tags lists \(its keys are words\)"),
    ("a.jsonl", '{"tokens": ["Ada"], "tags": ["B-PER"]}\n{"tokens": "Ada"}\n',
     r"a\.jsonl line 2 has no tokens and tags lists"),
    ("a.jsonl", '{"tokens": ["Ada"], \n', r"a\.jsonl line 1 is not JSON"),
    ("a.csv", "tokens,tags\nAda,B-PER\n", r"a\.csv is a csv table: model\.objective = \"tag\" reads CoNLL-style text"),
])
def test_bad_tagged_files_are_refused_in_one_sentence_naming_the_file_and_line(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(UserError, match=message) as e:
        read_tagged(path)
    assert "\n" not in str(e.value)


def test_a_tag_config_is_checked_before_training(tmp_path, monkeypatch, capsys):
    import importlib.util

    from engine.cli import main
    from engine.config.rules import problems
    from engine.data.corpus_check import corpus_problems
    from engine.run.source import objective_problem
    from tests.conftest import tiny_config

    conll, table = tmp_path / "t.conll", tmp_path / "t.csv"
    conll.write_text(CONLL)
    table.write_text("text,label\nAda,PER\n")
    cfg = tiny_config(conll, tmp_path, model={"objective": "tag"})
    assert cfg.arch == "bert" and problems(cfg) == [] and corpus_problems(cfg) == []
    cfg.model.arch = "t5"
    assert any('"tag" needs a decoder or an encoder alone' in p for p in problems(cfg))
    assert "choose seq2seq" in objective_problem("tag", "t5")
    cfg.model.arch, cfg.data.path = "gpt", str(table)
    assert corpus_problems(cfg) == ['t.csv is a csv table: model.objective = "tag" reads CoNLL-style text (a token '
                                    'and its tag a line) or JSONL with tokens and tags lists']
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "seqeval" else real(name, *a))
    assert any("seqeval package: ./dev install tag" in p for p in problems(cfg))
    monkeypatch.undo()
    (tmp_path / "run.toml").write_text(f'[data]\npath = "{conll}"\n[model]\nobjective = "tag"\n'
                                       f'[train]\nout_dir = "{tmp_path / "run"}"\n')
    assert main(["prepare", str(tmp_path / "run.toml")]) == 0
    out = capsys.readouterr().out
    assert "sentences 2, words 7" in out and "entities LOC 1, ORG 1, PER 1" in out


# ----- sub-tokens -----------------------------------------------------------------------------------
def test_each_word_is_labelled_on_its_first_piece_only():
    words = ["Ada", "Lovelace", "visited", "Paris"]
    char = train_tokenizer("char", lambda: [" ".join(words)])
    ids, starts = word_pieces(char, [words])[0]
    assert len(ids) == len(" ".join(words))
    # one character a token: each word starts at its first letter; spaces and later letters belong to none
    assert starts == [0, -1, -1, -1, 1, *[-1] * 8, 2, *[-1] * 7, 3, -1, -1, -1, -1]
    wordpiece = train_tokenizer("wordpiece", lambda: ["Love lace Ella Ada visited Paris"], vocab_size=300)
    ids, starts = word_pieces(wordpiece, [["Lovelace", "Ada"]])[0]
    pieces = [wordpiece.hf.id_to_token(i) for i in ids]
    assert len(pieces) > 2 and pieces[1].startswith("##")  # Lovelace falls into pieces
    assert starts[0] == 0 and set(starts[1:-1]) == {-1} and starts[-1] == 1


def test_a_tagged_corpus_is_encoded_with_ignored_pieces_and_split(tmp_path):
    from engine.data.masked import IGNORE, special_ids
    from engine.data.tagged import load_tagged
    from tests.conftest import tiny_config

    path = tmp_path / "t.conll"
    path.write_text("\n\n".join(f"Ada B-PER\nsaw O\nRome B-LOC\n{i} O" for i in range(20)))
    sentences = read_tagged(path)
    tok = train_tokenizer("char", lambda: ["Ada saw Rome 0123456789"])
    sp = special_ids(tok)
    cfg = tiny_config(path, tmp_path, model={"block_size": 8}, data={"val_fraction": 0.2, "test_fraction": 0.1})
    data = load_tagged(cfg, tok, sentences, encoder=True, pad_id=sp.pad, cls_id=sp.cls, sep_id=sp.sep)
    assert (len(data.train), len(data.val), len(data.test)) == (14, 4, 2) and data.truncated == 20
    row = data.train.take(np.array([0]))
    assert row["idx"][0, 0] == sp.cls and row["idx"][0, -1] == sp.sep and row["lengths"][0] == 8
    names = data.tag_names
    # [CLS] A d a _ s a [SEP]: Ada and saw are labelled at their first letters, the rest is ignored
    assert row["targets"][0].tolist() == [IGNORE, names.index("B-PER"), IGNORE, IGNORE, IGNORE, names.index("O"),
                                          IGNORE, IGNORE]


# ----- metrics --------------------------------------------------------------------------------------
def test_entity_metrics_match_a_hand_computed_case():
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-PER"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O", "O"]]
    types = ["LOC", "ORG", "PER"]
    counts = entity_counts(true, pred, types)
    # true PER x2, LOC x1, ORG x1; predicted PER x1 (right), ORG x2 (one right)
    assert counts.tolist() == [[1, 0, 0], [1, 2, 1], [2, 1, 1]]
    s = entity_scores(counts, types)
    assert s["entity_precision"] == pytest.approx(2 / 3) and s["entity_recall"] == pytest.approx(2 / 4)
    assert s["entity_f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert s["entity_types"]["PER"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2}
    assert s["entity_types"]["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert s["entity_types"]["ORG"]["f1"] == pytest.approx(2 / 3)


def test_a_wrong_boundary_is_a_miss_and_an_i_tag_after_o_starts_an_entity():
    s = entity_scores(entity_counts([["B-PER", "I-PER"]], [["B-PER", "O"]], ["PER"]), ["PER"])
    assert (s["entity_precision"], s["entity_recall"]) == (0.0, 0.0)
    s = entity_scores(entity_counts([["O", "B-LOC"]], [["O", "I-LOC"]], ["LOC"]), ["LOC"])
    assert s["entity_f1"] == 1.0


def test_entity_metrics_agree_with_seqeval_on_random_sequences():
    from seqeval.metrics import classification_report

    rng = random.Random(0)
    tags, types = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"], ["LOC", "ORG", "PER"]
    for _ in range(50):
        true = [[rng.choice(tags) for _ in range(rng.randint(1, 9))] for _ in range(6)]
        pred = [[rng.choice(tags) for _ in row] for row in true]
        ours = entity_scores(entity_counts(true, pred, types), types)
        theirs = classification_report(true, pred, output_dict=True, zero_division=0)
        assert ours["entity_f1"] == pytest.approx(theirs["micro avg"]["f1-score"])
        assert ours["entity_precision"] == pytest.approx(theirs["micro avg"]["precision"])
        assert ours["entity_recall"] == pytest.approx(theirs["micro avg"]["recall"])
        for kind in set(types) & set(theirs):
            assert ours["entity_types"][kind]["f1"] == pytest.approx(theirs[kind]["f1-score"])
            assert ours["entity_types"][kind]["support"] == theirs[kind]["support"]


# ----- the heads ------------------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ["bert", "gpt"])
def test_a_tagger_head_gives_every_token_its_logits_and_ignores_unlabelled_ones(arch):
    import torch

    from engine.model.build import build_model
    from engine.model.gpt import GPTConfig

    cfg = GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, vocab_size=40, arch=arch, num_labels=5,
                    label_head="tokens")
    model = build_model(cfg).eval()
    idx = torch.randint(0, 40, (2, 6))
    targets = torch.full((2, 6), -100)
    targets[0, 1], targets[1, 3] = 2, 4
    logits, loss = model(idx, targets, lengths=torch.tensor([6, 5]))
    assert logits.shape == (2, 6, 5)
    expected = torch.nn.functional.cross_entropy(torch.stack([logits[0, 1], logits[1, 3]]), torch.tensor([2, 4]))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert not hasattr(model, "pooler") and model.classifier.bias is not None


# ----- training, predict, export --------------------------------------------------------------------
TEXTS = ["Jordan flew to Jordan on May 3.", "Apple is hiring engineers in New York.",
         "Apple is the favourite fruit of Ada Lovelace."]


@pytest.fixture(scope="module", params=["bert", "gpt"])
def tagger_run(request, tmp_path_factory):
    """The entities demo trained briefly: an encoder (the tagger proper) and a decoder (for comparison)."""
    from engine.demo import make_demo_corpus
    from tests.conftest import tiny_config
    from tests.engine.train.test_training import train

    tmp = tmp_path_factory.mktemp(f"tag-{request.param}")
    corpus = make_demo_corpus("entities", tmp, size_bytes=60_000)
    steps = 300 if request.param == "bert" else 150
    cfg = tiny_config(corpus, tmp, tokenizer={"kind": "wordpiece", "vocab_size": 300},
                      model={"objective": "tag", "arch": request.param, "n_layer": 1, "n_head": 4, "n_embd": 48,
                             "block_size": 48},
                      train={"max_steps": steps, "eval_interval": steps // 2, "batch_size": 16, "lr": 4e-3,
                             "warmup_steps": 10, "eval_batches": 4})
    train(cfg)
    return tmp / "run"


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
def test_the_entities_demo_learns_to_tag(tagger_run):
    from engine.run.events import read_events

    events = read_events(tagger_run / "events.jsonl")
    started = next(e for e in events if e.type == "started")
    assert started["objective"] == "tag" and started["labels"][0] == "O" and "B-PER" in started["labels"]
    evals = [e for e in events if e.type == "eval"]
    assert evals[-1]["val_loss"] < evals[0]["val_loss"] / 4
    assert evals[-1]["val_entity_f1"] > 0.6 and evals[-1]["train_entity_f1"] > 0.6
    assert set(evals[-1]["val_entity_types"]) == {"DATE", "LOC", "ORG", "PER"}
    assert np.array(evals[-1]["val_confusion"]).shape == (9, 9)
    sample = next(e for e in events if e.type == "sample")
    assert "](" in sample["text"]  # entities marked, [Ada Lovelace](PER)


@pytest.mark.slow
def test_predict_prints_the_entities_a_tagger_finds(tagger_run, capsys):
    from engine.cli import main
    from engine.infer.tagging import tag_text
    from engine.model.load import load_for_inference

    model, tok, _ = load_for_inference(tagger_run)
    tagged = tag_text(model, tok, TEXTS[0])
    assert [w for w, _, _ in tagged.words] == ["Jordan", "flew", "to", "Jordan", "on", "May", "3", "."]
    assert main(["predict", str(tagger_run), "--text", TEXTS[0]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + max(1, len(tagged.entities))
    for line, e in zip(lines[1:], tagged.entities):
        assert line.split()[0] == e.kind and f"{TEXTS[0][e.start:e.end]!r} at {e.start}-{e.end}" in line
    assert main(["predict", str(tagger_run), "--text", "  "]) == 2  # nothing to tag: refused in a sentence
    assert "--text is empty" in capsys.readouterr().err
    assert main(["eval", str(tagger_run)]) == 0  # the checkpoint measured by the same task code
    said = capsys.readouterr().out
    assert "word accuracy" in said and "entity F1" in said and "(every validation example)" in said


@pytest.mark.slow
def test_the_inference_worker_answers_a_taggers_predict_with_its_entities(tagger_run):
    import io

    from engine.infer.tagging import tag_text
    from engine.model.load import load_for_inference
    from engine.worker.serve import Worker

    result = Worker(out=io.StringIO()).op_predict({"id": 1, "run": str(tagger_run), "text": TEXTS[1]})
    model, tok, _ = load_for_inference(tagger_run)
    assert result == {"kind": "tag", "entities": [vars(e) for e in tag_text(model, tok, TEXTS[1]).entities]}


@pytest.mark.slow
def test_an_exported_tagger_finds_the_same_entities_in_transformers_pipeline(tagger_run, tmp_path):
    transformers = pytest.importorskip("transformers")
    from engine.cli import main
    from engine.data.tagged import read_tagged
    from engine.infer.tagging import tag_text
    from engine.model.load import load_for_inference

    out = tmp_path / "hf"
    assert main(["export", str(tagger_run), "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    model, tok, _ = load_for_inference(tagger_run)
    wanted = "BertForTokenClassification" if model.config.arch == "bert" else "GPT2ForTokenClassification"
    assert config["architectures"] == [wanted] and config["id2label"]["0"] == "O"
    pipe = transformers.pipeline("token-classification", model=str(out), aggregation_strategy="first")
    demo = [" ".join(s.words) for s in read_tagged(tagger_run.parent / "entities.conll")[:20]]
    found = 0
    for text in TEXTS + demo:
        ours = [(e.kind, e.start, e.end) for e in tag_text(model, tok, text).entities]
        theirs = [(e["entity_group"], int(e["start"]), int(e["end"])) for e in pipe(text)]
        assert theirs == ours, text
        found += len(ours)
    assert found > 20


@pytest.mark.parametrize("kw", [dict(arch="bert"), dict(), dict(position="rope"),
                                dict(position="rope", norm="rmsnorm", mlp="swiglu")])
def test_every_family_exports_a_tagger_that_gives_the_same_logits(tmp_path, kw):
    transformers = pytest.importorskip("transformers")
    import torch

    from engine.interop.hf import export_model
    from tests.conftest import PANGRAMS
    from tests.engine.interop.test_hf_interop import config, randomized

    tok = train_tokenizer("wordpiece", lambda: PANGRAMS * 10, vocab_size=300)
    model = randomized(config(tok, num_labels=3, label_head="tokens", **kw))
    out = export_model(model, tok, tmp_path / "tagger", labels=["O", "B-X", "I-X"])
    hf = transformers.AutoModelForTokenClassification.from_pretrained(out).eval()
    assert hf.config.id2label[2] == "I-X" and type(hf).__name__.endswith("ForTokenClassification")
    x = torch.tensor([tok.encode(PANGRAMS[3])[:20]])
    with torch.no_grad():
        assert (model(x)[0] - hf(x).logits).abs().max() < 1e-4


# ----- a text longer than the context ---------------------------------------------------------------
def test_a_text_longer_than_the_context_is_read_in_windows_of_whole_words():
    from engine.infer.tagging import windows

    starts = [0, -1, 1, -1, -1, 2, 3, -1, -1, -1, -1, -1, -1, 4, 5, -1, 6]  # word 3 is longer than a window
    spans = windows(starts, 5)
    firsts = [p for p, w in enumerate(starts) if w >= 0]
    assert spans[0][0] == 0 and spans[-1][1] == len(starts)
    assert all(b - a <= 5 and a in firsts and (b in firsts or b == len(starts) or b - a == 5) for a, b in spans)
    assert {p for a, b in spans for p in range(a, b)} >= set(firsts)  # every word's first piece is read
    assert windows(starts[:5], 5) == [(0, 5)]  # a text that fits: one window, as before


def test_every_word_of_a_long_text_is_tagged_and_a_short_text_as_before():
    import torch

    from engine.infer.tagging import tag_text
    from tests.conftest import PANGRAMS
    from tests.engine.interop.test_hf_interop import config, randomized

    tok = train_tokenizer("wordpiece", lambda: PANGRAMS * 10, vocab_size=300)
    model = randomized(config(tok, arch="bert", num_labels=3, label_head="tokens"))
    labels = ["O", "B-X", "I-X"]
    short = PANGRAMS[0]
    ids, starts = word_pieces(tok, [short.replace(".", " .").split()])[0]
    x = torch.tensor([[tok.token_id("[CLS]"), *ids, tok.token_id("[SEP]")]])
    with torch.no_grad():
        best = model(x, lengths=torch.tensor([x.shape[1]]))[0][0, 1:].argmax(-1)
    assert tag_text(model, tok, short, labels).tags == [labels[int(best[p])] for p, w in enumerate(starts) if w >= 0]
    with torch.no_grad():  # a tagger that calls every word B-X, wherever it sits
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([0.0, 5.0, 0.0]))
    long = " ".join(PANGRAMS * 4)  # several times the 24-token context
    tagged = tag_text(model, tok, long, labels)
    assert len(word_pieces(tok, [[w for w, _, _ in tagged.words]])[0][0]) > 4 * 24
    assert tagged.tags == ["B-X"] * len(tagged.words) and len(tagged.entities) == len(tagged.words)
    assert tagged.entities[-1].end == len(long)


@pytest.mark.slow
def test_a_taggers_predict_finds_the_entities_of_a_long_texts_last_sentence(tagger_run, capsys):
    from engine.cli import main

    text = " ".join(f"{name} Turing was born in Oslo in 1900 ." for name in ("Ada", "Alan", "Grace", "Marie", "Nikola",
                                                                             "Rosa", "Kofi", "Mei"))
    assert main(["predict", str(tagger_run), "--text", text]) == 0
    said = capsys.readouterr().out
    last = text.rindex("Oslo")  # in the last sentence, far beyond the 48-token context
    assert f"'Oslo' at {last}-{last + 4}" in said
