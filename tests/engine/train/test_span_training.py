"""Extractive question answering trained: the start/end head's loss, a tiny run of the qa demo that lowers its loss
and reports exact match and F1, and `predict`, `eval` and the inference worker answering from the checkpoint."""

from __future__ import annotations

import json

import pytest

from engine.run.events import read_events
from tests.helpers import train_span_demo


def test_the_span_head_scores_start_and_end_at_every_token_and_averages_their_losses():
    import torch

    from engine.model.build import build_model
    from engine.model.gpt import GPTConfig

    cfg = GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=12, vocab_size=40, arch="bert", num_labels=2,
                    label_head="span")
    model = build_model(cfg).eval()
    idx = torch.randint(0, 40, (3, 10))
    types = torch.zeros_like(idx)
    types[:, 4:] = 1
    targets = torch.tensor([[5, 7], [0, 0], [9, 9]])
    logits, loss = model(idx, targets, token_types=types, lengths=torch.tensor([10, 8, 10]))
    assert logits.shape == (3, 10, 2) and not hasattr(model, "pooler") and model.classifier.out_features == 2
    start = torch.nn.functional.cross_entropy(logits[..., 0], targets[:, 0])
    end = torch.nn.functional.cross_entropy(logits[..., 1], targets[:, 1])
    assert loss.item() == pytest.approx(((start + end) / 2).item(), rel=1e-5)
    assert model(idx, token_types=types)[1] is None


@pytest.fixture(scope="module")
def span_run(tmp_path_factory):
    return train_span_demo(tmp_path_factory.mktemp("span"), steps=60)


@pytest.mark.slow  # a minute of training on a busy machine; ./dev test --quick leaves it out
def test_a_tiny_question_answerer_lowers_its_loss_and_reports_exact_match_and_f1(span_run):
    events = read_events(span_run / "events.jsonl")
    started = next(e for e in events if e.type == "started")
    assert started["objective"] == "span" and started["arch"] == "bert" and started["labels"] == ["start", "end"]
    assert started["corpus"]["unanswerable"] > 0 and started["corpus"]["windows"] > started["corpus"]["documents"]
    evals = [e for e in events if e.type == "eval"]
    assert evals[-1]["val_loss"] < evals[0]["val_loss"] - 0.5
    steps = [e["loss"] for e in events if e.type == "step"]
    assert sum(steps[-10:]) / 10 < sum(steps[:10]) / 10 - 0.5
    for e in evals:
        assert 0 <= e["val_exact_match"] <= e["val_f1"] <= 1 and "train_exact_match" in e.fields
    sample = next(e for e in events if e.type == "sample")
    assert "→" in sample["text"]


@pytest.mark.slow
def test_predict_prints_the_answer_the_checkpoint_finds_with_its_score(span_run, capsys):
    from engine.cli import main
    from engine.infer.span_answer import answer_question
    from engine.model.load import load_for_inference

    rows = [json.loads(line) for line in (span_run.parent / "qa.jsonl").read_text().splitlines()]
    row = max(rows, key=lambda r: len(r["context"]))
    model, tok, _ = load_for_inference(span_run)
    found = answer_question(model, tok, row["context"], row["question"])
    assert found.windows > 1  # the demo's longest paragraphs are longer than this model's 48 tokens
    assert main(["predict", str(span_run), "--context", row["context"], "--question", row["question"]]) == 0
    out = capsys.readouterr().out.strip()
    if found.text:
        assert out.startswith(f"answer: {found.text!r} at {found.start}-{found.end} (score {found.score:.1%}")
        assert row["context"][found.start:found.end] == found.text
    else:
        assert out.startswith("no answer: the context does not answer the question")
    assert main(["predict", str(span_run), "--text", "Where?"]) == 2  # a question answerer takes a context
    assert "this run answers questions: give --context" in capsys.readouterr().err
    assert main(["predict", str(span_run), "--context", row["context"], "--question", " "]) == 2
    assert "--question is empty" in capsys.readouterr().err
    assert main(["eval", str(span_run)]) == 0  # the checkpoint measured by the same task code
    said = capsys.readouterr().out
    assert "exact match" in said and "F1" in said and "(every validation question)" in said


@pytest.mark.slow
def test_the_inference_worker_answers_a_question_answerers_predict(span_run):
    import io

    from engine.core.errors import UserError
    from engine.infer.span_answer import answer_question
    from engine.model.load import load_for_inference
    from engine.worker.serve import Worker

    row = json.loads((span_run.parent / "qa.jsonl").read_text().splitlines()[1])
    worker = Worker(out=io.StringIO())
    result = worker.op_predict({"id": 1, "run": str(span_run), "text": row["context"], "question": row["question"]})
    model, tok, _ = load_for_inference(span_run)
    assert result == {"kind": "span", **vars(answer_question(model, tok, row["context"], row["question"]))}
    with pytest.raises(UserError, match="needs a question"):
        worker.op_predict({"id": 2, "run": str(span_run), "text": row["context"]})
