"""Masked LM, classification and fine-tuning (full and LoRA) trained end to end in this process."""

import json

import numpy as np
import pytest
import torch

from engine.cli import main
from engine.config.schema import ConfigError
from engine.core.errors import UserError
from engine.demo import make_demo_corpus
from engine.infer.predict import classify, fill_mask
from engine.model import checkpoint as ckpt
from engine.model.load import load_for_inference
from engine.plan.preflight import check
from engine.probes.attention import attention_maps
from engine.run.events import read_events
from tests.conftest import tiny_config
from tests.helpers import train


def evals(run_dir):
    return [e for e in read_events(run_dir / "events.jsonl") if e.type == "eval"]


def started(run_dir):
    return next(e for e in read_events(run_dir / "events.jsonl") if e.type == "started")


@pytest.fixture
def balanced_csv(tmp_path):
    return make_demo_corpus("balanced", tmp_path / "data", size_bytes=12_000)


def test_masked_lm_with_next_sentence_prediction(tmp_path, tiny_text):
    cfg = tiny_config(tiny_text, tmp_path, tokenizer={"kind": "wordpiece", "vocab_size": 300},
                      model={"objective": "masked", "block_size": 24},
                      task={"nsp": True, "whole_word_mask": True}, train={"max_steps": 30, "eval_interval": 15})
    train(cfg)
    run = tmp_path / "run"
    first, last = evals(run)[0], evals(run)[-1]
    assert last["val_loss"] < first["val_loss"]
    for key in ("val_accuracy", "val_nsp_accuracy", "val_ppl"):
        assert last.get(key) is not None
    assert last["val_accuracy"] > first["val_accuracy"]
    assert started(run)["arch"] == "bert"
    model, tok, _ = load_for_inference(run)
    filled, guesses = fill_mask(model, tok, "The quick brown [MASK] jumps over the lazy dog.")
    assert len(guesses) == 1 and len(guesses[0].candidates) == 5
    assert "[MASK]" not in filled
    with pytest.raises(UserError, match=r"type \[MASK\]"):
        fill_mask(model, tok, "no mask here")
    maps, tokens = attention_maps(model, tok, "The quick brown fox")
    assert np.triu(maps, 1).any(), "encoder queries attend to later tokens"


def eval_line(capsys, run, batches) -> str:
    assert main(["eval", str(run), "--checkpoint", "latest", "--batches", str(batches)]) == 0
    return capsys.readouterr().out.strip()


def test_eval_reports_a_masked_models_metrics_as_training_measured_them(tmp_path, tiny_text, capsys):
    cfg = tiny_config(tiny_text, tmp_path, model={"objective": "masked"}, task={"nsp": True},
                      train={"max_steps": 10, "eval_interval": 10})
    train(cfg)
    last = evals(tmp_path / "run")[-1]
    line = eval_line(capsys, tmp_path / "run", cfg.train.eval_batches)
    assert f"validation loss {last['val_loss']:.4f}" in line
    assert f"masked-token accuracy {last['val_accuracy']:.1%}" in line
    assert f"next-sentence accuracy {last['val_nsp_accuracy']:.1%}" in line


def test_the_command_line_predicts_exports_and_refuses_generate_for_encoders(tmp_path, tiny_text, capsys):
    cfg = tiny_config(tiny_text, tmp_path, model={"objective": "masked"}, train={"max_steps": 4})
    train(cfg)
    run = str(tmp_path / "run")
    assert main(["predict", run, "--text", "The [MASK] fox"]) == 0
    assert "token 4:" in capsys.readouterr().out  # characters: T h e space [MASK]
    assert main(["generate", run, "--prompt", "The"]) == 2
    assert "use `predict`" in capsys.readouterr().err
    assert main(["export", run, "--out", str(tmp_path / "hf")]) == 0
    assert json.loads((tmp_path / "hf" / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]
    assert main(["export", run, "--out", str(tmp_path / "hf")]) == 2
    assert "not empty" in capsys.readouterr().err


def test_classification_reports_accuracy_f1_and_a_confusion_matrix(tmp_path, balanced_csv, capsys):
    cfg = tiny_config(balanced_csv, tmp_path, model={"objective": "classify", "block_size": 32},
                      train={"max_steps": 40, "eval_interval": 20, "batch_size": 16})
    train(cfg)
    run = tmp_path / "run"
    last = evals(run)[-1]
    assert last["labels"] == ["balanced", "unbalanced"]
    confusion = np.array(last["val_confusion"])
    n_val = started(run)["corpus"]["val_examples"]
    assert confusion.shape == (2, 2) and confusion.sum() == n_val
    assert last["val_accuracy"] == pytest.approx(np.trace(confusion) / n_val)
    assert 0 <= last["val_macro_f1"] <= 1
    model, tok, _ = load_for_inference(run)
    probs = classify(model, tok, "(([]))")
    assert sorted(label for label, _ in probs) == ["balanced", "unbalanced"]
    assert sum(p for _, p in probs) == pytest.approx(1.0)
    line = eval_line(capsys, run, 1)  # a classifier is measured on every validation example
    assert f"accuracy {last['val_accuracy']:.1%}, macro-F1 {last['val_macro_f1']:.1%}" in line
    assert f"validation loss {last['val_loss']:.4f}" in line and "every validation example" in line


def test_lora_fine_tune_saves_adapters_apart_and_resumes(tmp_path, tiny_text, balanced_csv):
    base = tiny_config(tiny_text, tmp_path, train={"out_dir": str(tmp_path / "base"), "max_steps": 20})
    train(base)
    brackets = make_demo_corpus("brackets", tmp_path / "data", size_bytes=8000)
    cfg = tiny_config(brackets, tmp_path, finetune={"source": str(tmp_path / "base"), "method": "lora",
                                                    "lora_rank": 2, "lora_targets": ["attention", "mlp_in"]},
                      train={"max_steps": 20, "eval_interval": 10, "lr": 1e-2})
    train(cfg, stop_at=12)
    run = tmp_path / "run"
    info = started(run)
    assert 0 < info["trainable_params"] < info["n_params"] / 5
    last = ckpt.list_checkpoints(run)[-1].path
    stored = ckpt.load_tensors(last / ckpt.MODEL_FILE)
    assert stored and all("lora_" in name for name in stored), "only the adapters are stored"
    assert json.loads((last / "meta.json").read_text())["lora"]["rank"] == 2
    base_weights = ckpt.load_tensors(ckpt.list_checkpoints(tmp_path / "base")[-1].path / ckpt.MODEL_FILE)
    copied = ckpt.load_tensors(run / "base" / ckpt.MODEL_FILE)
    assert all(torch.equal(base_weights[n], copied[n]) for n in base_weights), "the base is frozen and copied whole"
    train(cfg, resume=True)
    assert max(e.step for e in evals(run)) == 20
    merged, tok, _ = load_for_inference(run)
    original, _, _ = load_for_inference(tmp_path / "base")
    x = torch.tensor([tok.encode("([{}])")])
    assert not torch.allclose(merged(x)[0], original(x)[0]), "the merged adapters change the model"


def test_full_fine_tune_of_an_exported_hugging_face_model_as_a_classifier(tmp_path, tiny_text, balanced_csv):
    pytest.importorskip("transformers")
    from engine.interop.hf import export_model

    pre = tiny_config(tiny_text, tmp_path, model={"objective": "masked", "position": "learned"},
                      train={"out_dir": str(tmp_path / "mlm"), "max_steps": 10})
    train(pre)
    model, tok, _ = load_for_inference(tmp_path / "mlm")
    export_model(model, tok, tmp_path / "hf-bert")
    cfg = tiny_config(balanced_csv, tmp_path, model={"objective": "classify"},
                      finetune={"source": str(tmp_path / "hf-bert")}, train={"max_steps": 10})
    train(cfg)
    events = list(read_events(tmp_path / "run" / "events.jsonl"))
    ft = next(e for e in events if e.type == "finetune")
    # pre-trained without next-sentence prediction, so the pooler starts fresh too
    assert set(ft["new"]) == {"classifier.weight", "classifier.bias", "pooler.weight", "pooler.bias"}
    assert started(tmp_path / "run")["arch"] == "bert"


def test_objective_mistakes_get_clear_messages(tmp_path, tiny_text, balanced_csv):
    with pytest.raises(ConfigError, match="needs a bidirectional encoder"):
        check(tiny_config(tiny_text, tmp_path, model={"objective": "masked", "arch": "gpt"}))
    with pytest.raises(ConfigError, match="set finetune.source"):
        check(tiny_config(tiny_text, tmp_path, finetune={"method": "lora"}))
    with pytest.raises(UserError, match="is plain text, but this objective reads the columns"):
        train(tiny_config(tiny_text, tmp_path, model={"objective": "classify"}))
    with pytest.raises(UserError, match="has no column 'kind'.*set task.label_column"):
        train(tiny_config(balanced_csv, tmp_path, model={"objective": "classify"}, task={"label_column": "kind"}))
    train(tiny_config(tiny_text, tmp_path, train={"out_dir": str(tmp_path / "gpt"), "max_steps": 2}))
    with pytest.raises(ConfigError, match="finetune.source: a masked LM fine-tunes an encoder"):
        train(tiny_config(tiny_text, tmp_path, model={"objective": "masked"},
                          finetune={"source": str(tmp_path / "gpt")}))


def test_fine_tuning_mistakes_are_said_in_words(tmp_path, tiny_text):
    train(tiny_config(tiny_text, tmp_path, model={"objective": "masked"}, train={"out_dir": str(tmp_path / "m"),
                                                                                  "max_steps": 2}))
    model, tok, _ = load_for_inference(tmp_path / "m")
    with pytest.raises(UserError, match="beyond the model's context of 16 tokens"):
        fill_mask(model, tok, "x" * 40 + " [MASK]")
    lora = tiny_config(tiny_text, tmp_path, model={"objective": "masked"}, train={"max_steps": 2},
                       finetune={"source": str(tmp_path / "m"), "method": "lora", "lora_rank": 2})
    train(lora)
    import shutil

    shutil.rmtree(tmp_path / "run" / "base")
    with pytest.raises(UserError, match="holds LoRA adapters but the run's base model .* is missing"):
        load_for_inference(tmp_path / "run")
    with pytest.raises(ConfigError, match="finetune.source not found"):
        check(tiny_config(tiny_text, tmp_path, finetune={"source": str(tmp_path / "gone")}))


def test_a_full_fine_tune_resumes_after_its_source_is_gone_and_warns_of_unknown_text(tmp_path, tiny_text):
    import shutil

    from engine.run.events import EventWriter
    from engine.train.trainer import Trainer

    train(tiny_config(tiny_text, tmp_path, train={"out_dir": str(tmp_path / "src"), "max_steps": 2}))
    brackets = make_demo_corpus("brackets", tmp_path / "data", size_bytes=6000)
    cfg = tiny_config(brackets, tmp_path, finetune={"source": str(tmp_path / "src")}, train={"max_steps": 4})
    writer, seen = EventWriter(None), []
    writer.listeners.append(seen.append)
    trainer = Trainer(cfg, events=writer)
    trainer.setup()
    trainer.fit()
    trainer.close()
    warning = next(e for e in seen if e.type == "warning" and e.get("kind") == "unknown_tokens")
    assert "unknown to the tokenizer" in warning["message"] and warning["share"] > 0.5
    shutil.rmtree(tmp_path / "src")
    cfg.train.max_steps = 8
    train(cfg, resume=True)
    assert max(e.step for e in evals(tmp_path / "run")) == 8


def test_a_fine_tunes_run_toml_records_the_trained_model_and_names_ignored_keys(tmp_path, tiny_text):
    from engine.config.schema import load

    base = tiny_config(tiny_text, tmp_path, model={"n_layer": 2}, train={"out_dir": str(tmp_path / "base"),
                                                                         "max_steps": 4})
    train(base)
    cfg = tiny_config(tiny_text, tmp_path, model={"n_layer": 6}, tokenizer={"kind": "bpe", "vocab_size": 500},
                      finetune={"source": str(tmp_path / "base")}, train={"max_steps": 4})
    train(cfg)
    run = tmp_path / "run"
    recorded = load(run / "run.toml")
    assert recorded.model.n_layer == 2 and recorded.model.n_embd == 32
    assert recorded.tokenizer.kind == "file" and recorded.tokenizer.path == str(run / "tokenizer.json")
    warned = [e["message"] for e in read_events(run / "events.jsonl") if e.type == "warning"]
    assert any("model.n_layer = 6 (the source has 2)" in m and "tokenizer.kind = 'bpe'" in m for m in warned)


def test_prepare_and_tokenizer_on_a_fine_tune_use_the_sources_tokenizer(tmp_path, tiny_text, capsys):
    import tomli_w

    base = tiny_config(tiny_text, tmp_path, train={"out_dir": str(tmp_path / "base"), "max_steps": 2})
    train(base)
    source_vocab = started(tmp_path / "base")["corpus"]["vocab_size"]
    config = tmp_path / "lora.toml"
    config.write_text(tomli_w.dumps({"data": {"path": str(tiny_text), "cache_dir": str(tmp_path / "cache")},
                                     "tokenizer": {"kind": "bpe", "vocab_size": 400}, "model": {"block_size": 16},
                                     "finetune": {"source": str(tmp_path / "base"), "method": "lora"}}))
    assert main(["prepare", str(config)]) == 0
    out, err = capsys.readouterr()
    assert f"vocabulary {source_vocab:,}" in out and "keeps its source's char tokenizer" in err
    assert main(["tokenizer", str(config), "--out", str(tmp_path / "tok.json")]) == 0
    assert "char tokenizer" in capsys.readouterr().out
    assert (tmp_path / "tok.json").read_text() == (tmp_path / "base" / "tokenizer.json").read_text()
