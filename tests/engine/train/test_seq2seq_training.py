"""Sequence to sequence end to end: the translate recipe learns the made-up language and its
cross-attention finds the known word alignment; the test split is scored at the end; denoising
pretrains on plain text; bad pairs are refused in one line."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from engine.cli import main
from engine.core.errors import UserError
from engine.data.pairs import seq2seq_specials
from engine.demo import make_demo_corpus
from engine.model.load import load_for_inference
from engine.plan.preflight import check
from engine.probes.cross_attention import aligned_words, seq2seq_patterns, word_starts
from engine.run.events import read_events

RECIPES = Path(__file__).resolve().parents[3] / "resources" / "recipes"


def train_recipe(tmp: Path, recipe: str, demo: str) -> tuple[Path, Path]:
    """A recipe as written, on a smaller copy of its demo corpus, trained through the CLI."""
    corpus = make_demo_corpus(demo, tmp, size_bytes=400_000)
    code = main(["train", str(RECIPES / f"{recipe}.toml"), "--set", f"data.path={corpus}", "--set",
                 f"data.cache_dir={tmp / 'cache'}", "--set", f"train.out_dir={tmp / 'run'}", "--events"])
    assert code == 0
    return tmp / "run", corpus


@pytest.fixture(scope="module")
def translated(tmp_path_factory):
    return train_recipe(tmp_path_factory.mktemp("translate"), "translate", "translate")


@pytest.mark.recipe
def test_the_translate_recipe_reaches_exact_match_and_scores_its_test_split(translated):
    run, _ = translated
    events = read_events(run / "events.jsonl")
    last = [e for e in events if e.type == "eval"][-1]
    assert last["val_exact_match"] >= 0.9 and last["val_bleu"] >= 90
    assert {"val_chrf", "val_rouge_l", "val_accuracy"} <= set(last.fields)
    finished = [e for e in events if e.type == "finished"][-1]
    assert finished["test"]["exact_match"] >= 0.9 and finished["test"]["bleu"] >= 90
    samples = [e for e in events if e.type == "sample"]
    assert samples and "(reference: " in samples[-1]["text"]
    steps = [e.step for e in events if e.type == "eval"]
    recorded = sorted(p.name for p in (run / "attention").glob("step-*.npz"))
    assert recorded == [f"step-{s:06d}.npz" for s in steps]  # the three stacks at every evaluation
    assert len(list((run / "embeddings").glob("step-*.npy"))) == len(steps)


@pytest.mark.recipe
def test_the_last_layers_cross_attention_finds_the_source_word_of_each_target_word(translated):
    import random

    from engine.demo.pairs import translation_pair

    run, _ = translated
    model, tok, _ = load_for_inference(run)
    specials = seq2seq_specials(tok)
    rng = random.Random(99)  # sentences made anew, not the corpus's
    rows = [translation_pair(rng) for _ in range(60)]
    hits = total = 0
    for row in rows:
        src, tgt = tok.encode(row["source"]), tok.encode(row["target"])
        maps = seq2seq_patterns(model, src + [specials.eos], [specials.pad] + tgt)
        cross = maps["cross"][-1].mean(0)[: len(tgt), : len(src)]  # the rows that write the target's tokens
        found = aligned_words(cross, word_starts(tok.token_strings(src)), word_starts(tok.token_strings(tgt)))
        hits += sum(a == b for a, b in zip(found, row["alignment"]))
        total += len(row["alignment"])
    assert hits / total >= 0.8


@pytest.mark.recipe
def test_eval_and_generate_on_the_command_line(translated, capsys):
    run, _ = translated
    assert main(["eval", str(run), "--batches", "2"]) == 0
    out = capsys.readouterr().out
    assert "token accuracy" in out and "BLEU" in out and "ROUGE-L" in out
    assert float(re.search(r"exact match ([\d.]+)%", out).group(1)) >= 90
    assert main(["generate", str(run), "--prompt", "the small dog sees a red ball", "--beams", "3"]) == 0
    words = capsys.readouterr().out.split()  # the translation alone: kavo nim lo bela ruso un miru
    assert len(words) == 7 and words[-1] == "miru"


def pairs_file(tmp_path, rows, name="pairs.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def config(tmp_path, path, **model):
    from tests.conftest import tiny_config

    return tiny_config(path, tmp_path, model={"objective": "seq2seq", **model},
                       train={"max_steps": 4, "eval_interval": 2})


@pytest.mark.parametrize("rows, message", [
    ([{"source": "a", "answer": "b"}] * 8, "has no column 'target'"),
    ([{"source": "a b", "target": "c"}] * 6 + [{"source": "x", "target": ""}], "have an empty 'target' (row 7)"),
    ([{"source": "a", "target": "b" * 40}] * 8, "at most 15 fit (model.target_block_size)"),
])
def test_bad_pairs_are_refused_in_one_line(tmp_path, rows, message):
    from tests.engine.train.test_training import train

    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        train(config(tmp_path, pairs_file(tmp_path, rows)))
    assert not (tmp_path / "run").exists()  # no empty run folder


def test_a_pairs_corpus_offered_to_a_causal_run_says_which_objectives_read_it(tmp_path):
    from engine.data.corpus_check import corpus_problems
    from tests.conftest import tiny_config

    cfg = tiny_config(pairs_file(tmp_path, [{"source": "a", "target": "b"}] * 8), tmp_path)
    (problem,) = corpus_problems(cfg)
    assert "has no column 'text'" in problem and "choose the seq2seq or instruct objective" in problem


def test_seq2seq_pretrains_on_plain_text_by_span_corruption(tmp_path, tiny_text):
    from tests.engine.train.test_training import train

    cfg = config(tmp_path, tiny_text, block_size=32, target_block_size=16)
    train(cfg)
    events = read_events(tmp_path / "run" / "events.jsonl")
    started = next(e for e in events if e.type == "started")
    assert started["arch"] == "t5" and started["corpus"]["denoising_window"] > 16
    sample = next(e for e in events if e.type == "sample")
    assert "<extra_id_0>" in sample["prompt"] and "(reference: <extra_id_0>" in sample["text"]
    assert np.isfinite([e["val_loss"] for e in events if e.type == "eval"]).all()


def test_instruct_prompt_tokens_carry_no_loss():
    import torch
    from torch.nn import functional as F

    from engine.data.pairs import IGNORE, PairSplit, instruct_batch
    from engine.model.gpt import GPT, GPTConfig

    split = PairSplit(src=[[1, 2]], tgt=[[7, 8, 9]], sources=["x"], targets=["y"])
    batch = instruct_batch(split, np.array([0]), [[10, 11, 12, 13]], eos=5, pad=0, block_size=16)
    assert batch["idx"][0].tolist() == [10, 11, 12, 13, 7, 8, 9]
    assert batch["targets"][0].tolist() == [IGNORE] * 3 + [7, 8, 9, 5]  # the response, then <eos>
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=16, block_size=16, n_layer=1, n_head=2, n_embd=16))
    idx, targets = torch.from_numpy(batch["idx"]), torch.from_numpy(batch["targets"])
    logits, loss = model(idx, targets)
    assert torch.isclose(loss, F.cross_entropy(logits[0, 3:], torch.tensor([7, 8, 9, 5])))


@pytest.fixture(scope="module")
def summarized(tmp_path_factory):
    return train_recipe(tmp_path_factory.mktemp("summarize"), "summarize-instruct", "summarize")


@pytest.mark.recipe
def test_the_summarize_recipe_teaches_a_decoder_to_exact_match(summarized, capsys):
    run, corpus = summarized
    events = read_events(run / "events.jsonl")
    assert next(e for e in events if e.type == "started")["arch"] == "gpt"
    assert [e for e in events if e.type == "eval"][-1]["val_exact_match"] >= 0.9
    assert [e for e in events if e.type == "finished"][-1]["test"]["exact_match"] >= 0.9
    capsys.readouterr()
    row = json.loads(corpus.read_text().splitlines()[-1])
    assert main(["generate", str(run), "--prompt", row["source"]]) == 0
    answer = capsys.readouterr().out.strip()  # greedy by default, the response alone: "dog runs, bird sings"
    assert answer and "###" not in answer and "<eos>" not in answer and len(answer.split(", ")) >= 2


@pytest.mark.recipe
def test_the_inference_worker_streams_an_instruct_runs_response(summarized):
    import io

    from engine.worker.serve import Worker

    run, corpus = summarized
    row = json.loads(corpus.read_text().splitlines()[-1])
    out = io.StringIO()
    worker = Worker(out=out)
    done = worker.op_generate({"id": 1, "run": str(run), "prompt": row["source"], "options": {
        "max_new_tokens": 60, "temperature": 0.0, "top_k": 0, "top_p": 1.0, "repetition_penalty": 1.0, "seed": 1,
        "beams": 1}})
    tokens = [json.loads(line) for line in out.getvalue().splitlines() if '"token"' in line]
    text = "".join(t["text"] for t in tokens)
    assert done == {"reason": "length"} and 0 < len(tokens) < 60  # it ended at <eos>, which is not shown
    assert "###" not in text and len(text.split(", ")) == len(row["target"].split(", "))


def test_an_instruct_run_trains_on_pairs_and_answers_through_generate(tmp_path, capsys):
    from tests.conftest import tiny_config
    from tests.engine.train.test_training import train

    corpus = make_demo_corpus("summarize", tmp_path, size_bytes=20_000)
    cfg = tiny_config(corpus, tmp_path, model={"objective": "instruct", "block_size": 128},
                      data={"test_fraction": 0.1}, task={"metric_samples": 4}, train={"max_steps": 4})
    train(cfg)
    events = read_events(tmp_path / "run" / "events.jsonl")
    started = next(e for e in events if e.type == "started")
    assert started["arch"] == "gpt" and started["corpus"]["test_examples"] > 0
    assert "val_exact_match" in [e for e in events if e.type == "eval"][-1].fields
    question = json.loads(corpus.read_text().splitlines()[0])["source"]
    assert main(["generate", str(tmp_path / "run"), "--prompt", question, "--max-new-tokens", "5"]) == 0
    assert len(capsys.readouterr().out) <= 5 * 4 + 1  # the answer alone (at most 5 tokens), not the prompt


def test_every_demo_is_written_with_a_run_config_that_fits_it(tmp_path, capsys):
    from engine.config import schema as config_mod
    from engine.data.corpus_check import corpus_problems
    from engine.demo import DEMOS

    for name in DEMOS:
        out = tmp_path / name
        assert main(["demo", name, "--out", str(out)]) == 0
        cfg = check(config_mod.load(out / "run.toml"))
        assert Path(cfg.data.path).parent == out and Path(cfg.data.path).is_file()
        assert Path(cfg.train.out_dir) == out / "runs" / name
        assert corpus_problems(cfg) == []
    assert main(["demo", "summarize", "--out", str(tmp_path / "summarize")]) == 2  # never over a run.toml
    assert "exists" in capsys.readouterr().err
    assert main(["demo"]) == 0 and "translate" in capsys.readouterr().out


@pytest.mark.parametrize("method", ["full", "lora"])
def test_a_t5_folder_saved_by_transformers_fine_tunes_on_pairs(tmp_path, method):
    transformers = pytest.importorskip("transformers")
    from engine.data.tokenizer import train_tokenizer
    from tests.conftest import tiny_config
    from tests.engine.train.test_training import train

    corpus = make_demo_corpus("translate", tmp_path, size_bytes=10_000)
    tok = train_tokenizer("char", lambda: [corpus.read_text()])
    tok.add_special_tokens(["<pad>", "</s>"])  # T5's own names: the fine-tune starts from them, adds nothing
    config = transformers.T5Config(vocab_size=tok.vocab_size, d_model=32, d_kv=8, d_ff=48, num_layers=2,
                                   num_heads=4, feed_forward_proj="gated-gelu", pad_token_id=tok.token_id("<pad>"),
                                   eos_token_id=tok.token_id("</s>"), decoder_start_token_id=tok.token_id("<pad>"))
    transformers.T5ForConditionalGeneration(config).save_pretrained(tmp_path / "t5")
    tok.save(tmp_path / "t5" / "tokenizer.json")
    cfg = tiny_config(corpus, tmp_path, model={"objective": "seq2seq", "block_size": 64},
                      finetune={"source": str(tmp_path / "t5"), "method": method}, task={"metric_samples": 2},
                      train={"max_steps": 2})
    train(cfg)
    events = read_events(tmp_path / "run" / "events.jsonl")
    assert next(e for e in events if e.type == "finetune")["new"] == []  # every weight came from the folder
    started = next(e for e in events if e.type == "started")
    # LoRA: rank-8 adapters on q, k, v and o of 6 attentions (2 encoder, 2 decoder, 2 cross), each 32 -> 32
    adapters = 6 * 4 * 8 * (32 + 32)
    assert started["trainable_params"] == (adapters if method == "lora" else started["n_params"])
    assert next(e for e in events if e.type == "started")["corpus"]["vocab_size"] == tok.vocab_size
