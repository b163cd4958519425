"""A question answerer exported as transformers' BertForQuestionAnswering finds, in transformers, the span that
`predict` finds: the same windows of a long context, the same logits, the same answer (or none).

transformers 5.3 removed its question-answering pipeline (its migration guide says to use the tokenizer and the
model directly); where the installed transformers still has it, the pipeline itself is asked, else its steps are
taken here with transformers' own tokenizer, model and span picking (select_starts_ends, which the document
question-answering pipeline keeps)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.data.span_decode import MAX_ANSWER_TOKENS
from tests.helpers import train_span_demo

transformers = pytest.importorskip("transformers")

CONTEXT = ("Ada Lovelace was born in London in 1815. She wrote the first program. Alan Turing was born in "
           "London in 1912. He broke codes in Bletchley in 1941. Grace Hopper was born in New York in 1906.")
QUESTIONS = ["Who wrote the first program?", "Where was Grace Hopper born?", "When was Alan Turing born?",
             "Where did Ada die?", "Who broke codes?"]


def transformers_answer(folder, context: str, question: str, *, max_seq_len: int, doc_stride: int) -> tuple:
    """(answer, start, end) as transformers' question-answering pipeline gives them, null answers allowed."""
    from transformers.pipelines import SUPPORTED_TASKS

    if "question-answering" in SUPPORTED_TASKS:  # transformers before 5.3
        pipe = transformers.pipeline("question-answering", model=str(folder), tokenizer=str(folder))
        out = pipe(question=question, context=context, max_seq_len=max_seq_len, doc_stride=doc_stride,
                   max_answer_len=MAX_ANSWER_TOKENS, handle_impossible_answer=True)
        return out["answer"], out["start"], out["end"]
    import torch
    from transformers.pipelines.document_question_answering import select_starts_ends

    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModelForQuestionAnswering.from_pretrained(folder).eval()
    enc = tokenizer(question, context, truncation="only_second", max_length=max_seq_len, stride=doc_stride,
                    return_overflowing_tokens=True, return_offsets_mapping=True, return_token_type_ids=True)
    answers, null = [], 1e6
    for i, ids in enumerate(enc["input_ids"]):
        p_mask = np.array([s != 1 for s in enc.sequence_ids(i)], dtype=int)
        p_mask[np.array(ids) == tokenizer.cls_token_id] = 0  # [CLS] stays: it answers "none"
        inputs = {k: torch.tensor([enc[k][i]]) for k in ("input_ids", "token_type_ids", "attention_mask")}
        with torch.no_grad():
            out = model(**inputs)
        starts, ends, scores, null = select_starts_ends(
            out.start_logits.numpy(), out.end_logits.numpy(), p_mask, inputs["attention_mask"].numpy(), null, 1,
            True, MAX_ANSWER_TOKENS)
        for s, e, score in zip(starts, ends, scores):  # the pipeline widens a span to whole words
            a = enc.word_to_chars(i, enc.token_to_word(i, int(s)), sequence_index=1).start
            b = enc.word_to_chars(i, enc.token_to_word(i, int(e)), sequence_index=1).end
            answers.append((float(score), context[a:b], a, b))
    answers.append((null, "", 0, 0))
    _, text, a, b = sorted(answers, key=lambda x: -x[0])[0]
    return text, a, b


def _agree(model, tokenizer, folder, pairs, doc_stride: int) -> list[str]:
    """Each question's answer, asserted the same in the engine and in transformers; the engine's answers."""
    from engine.data.span_windows import window_stride
    from engine.infer.span_answer import answer_question

    said, T = [], model.config.block_size
    for context, question in pairs:
        ours = answer_question(model, tokenizer, context, question, doc_stride=doc_stride)
        theirs = transformers_answer(folder, context, question, max_seq_len=T, doc_stride=window_stride(doc_stride, T))
        assert theirs == ((ours.text, ours.start, ours.end) if ours.text else ("", 0, 0)), question
        said.append(ours.text)
    return said


def test_an_exported_random_answerer_finds_the_same_spans_over_several_windows(tmp_path):
    import torch

    from engine.data.masked import special_ids
    from engine.data.tokenizer import train_tokenizer
    from engine.interop.hf import export_model
    from engine.model.build import build_model
    from engine.model.gpt import GPTConfig

    tok = train_tokenizer("wordpiece", lambda: [CONTEXT, *QUESTIONS] * 5, vocab_size=300)
    special_ids(tok)
    torch.manual_seed(0)
    model = build_model(GPTConfig(n_layer=1, n_head=2, n_embd=32, block_size=24, vocab_size=tok.vocab_size,
                                  arch="bert", num_labels=2, label_head="span")).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.5)  # sharp, varied logits: spans anywhere, in any window
    out = export_model(model, tok, tmp_path / "qa", labels=["start", "end"])
    config = json.loads((out / "config.json").read_text())
    assert config["architectures"] == ["BertForQuestionAnswering"] and config["id2label"] == {"0": "start",
                                                                                               "1": "end"}
    said = _agree(model, tok, out, [(CONTEXT, q) for q in QUESTIONS] + [(CONTEXT[:40], QUESTIONS[0])], doc_stride=6)
    assert sum(bool(s) for s in said) >= 3


@pytest.mark.slow  # a tiny training first
def test_an_exported_trained_answerer_gives_predicts_answers_in_transformers(tmp_path):
    from engine.cli import main
    from engine.infer.span_answer import run_stride
    from engine.model.load import load_for_inference

    # long enough to answer questions, not to be right; each in one window (the random answerer tries several).
    # The last checkpoint, not the best: which is best by two noisy evaluations differs between CPUs, and the
    # half-trained one may answer nearly nothing, which would leave little to compare
    run = train_span_demo(tmp_path, steps=300, n_layer=2, n_head=4, n_embd=64, block_size=96)
    out = tmp_path / "hf"
    assert main(["export", str(run), "--out", str(out), "--checkpoint", "latest"]) == 0
    assert json.loads((out / "config.json").read_text())["architectures"] == ["BertForQuestionAnswering"]
    model, tok, _ = load_for_inference(run, "latest")
    rows = [json.loads(line) for line in (tmp_path / "qa.jsonl").read_text().splitlines()[:24]]
    said = _agree(model, tok, out, [(r["context"], r["question"]) for r in rows], doc_stride=run_stride(run))
    assert sum(bool(s) for s in said) >= 3  # 17 of 24 where it was written
