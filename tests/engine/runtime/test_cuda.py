"""CUDA-only checks: they skip cleanly on machines without a GPU."""

import importlib.util

import numpy as np
import pytest
import torch

from engine.config.rules import FP8_MIN_CAPABILITY
from engine.config.schema import from_dict
from engine.data.encode import CorpusStats, PreparedCorpus
from engine.data.tokenizer import train_tokenizer
from engine.infer.generate import SamplingOptions, stream
from engine.model import linear_loss
from engine.model.gpt import GPT, GPTConfig
from engine.model.hooks import attention_patterns
from engine.model.load import load_for_inference
from engine.run.events import EventWriter
from engine.train.trainer import Trainer

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

TEXT = "The quick brown fox jumps over the lazy dog. " * 400


def corpus_in(tmp_path) -> PreparedCorpus:
    """A char corpus built without `datasets` (not every GPU image has it)."""
    tok = train_tokenizer("char", lambda: iter([TEXT]))
    ids = np.array(tok.encode(TEXT), dtype=np.uint16)
    ids.tofile(tmp_path / "tokens.bin")
    split = int(len(ids) * 0.9)
    return PreparedCorpus(tok, tmp_path / "tokens.bin", "uint16", split,
                          CorpusStats(1, len(TEXT), len(TEXT), len(ids), split, len(ids) - split, tok.vocab_size, {}))


def fp8_cards():
    return pytest.mark.skipif(not torch.cuda.is_available() or torch.cuda.get_device_capability() < FP8_MIN_CAPABILITY
                              or importlib.util.find_spec("torchao") is None,
                              reason="needs fp8 tensor cores and torchao")


@pytest.mark.parametrize("precision, compile", [("bf16", "off"), ("fp16", "off"), ("bf16", "on"),
                                                pytest.param("fp8", "off", marks=fp8_cards()),
                                                pytest.param("fp8", "on", marks=fp8_cards())])
def test_training_on_cuda_lowers_the_loss_and_loads_on_cpu(tmp_path, precision, compile):
    cfg = from_dict({"data": {"path": "given"}, "model": {"n_layer": 2, "n_head": 2, "n_embd": 64, "block_size": 32},
                     "train": {"batch_size": 16, "max_steps": 60, "eval_interval": 30, "eval_batches": 4, "lr": 3e-3,
                               "warmup_steps": 5, "device": "cuda", "precision": precision, "compile": compile,
                               "sample_tokens": 10, "out_dir": str(tmp_path / "run")}})
    writer = EventWriter(None)
    evals = []
    writer.listeners.append(lambda e: e.type == "eval" and evals.append(e["val_loss"]))
    trainer = Trainer(cfg, events=writer, corpus=corpus_in(tmp_path))
    trainer.setup()
    trainer.fit()
    trainer.close()
    assert evals[-1] < evals[0] - 1.0
    model, tok, _ = load_for_inference(tmp_path / "run", device="cpu")
    assert next(model.parameters()).device.type == "cpu"


def test_cached_generation_on_cuda_matches_the_uncached_path():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=64, block_size=32, n_layer=2, n_head=4, n_embd=64, position="rope")).cuda()
    ids = list(range(10))
    a = [t.id for t in stream(model, ids, SamplingOptions(max_new_tokens=40, temperature=0), device="cuda")]
    b = [t.id for t in stream(model, ids, SamplingOptions(max_new_tokens=40, temperature=0, use_cache=False),
                              device="cuda")]
    assert a == b


def test_explicit_attention_matches_flash_attention_on_cuda(monkeypatch):
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)  # compare exact fp32 arithmetic
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=64, block_size=64, n_layer=2, n_head=4, n_embd=64)).cuda().eval()
    idx = torch.randint(0, 64, (2, 64), device="cuda")
    with torch.no_grad():
        fused = model(idx)[0]
        explicit, maps = attention_patterns(model, idx)
    assert torch.allclose(fused, explicit, atol=1e-4)
    assert torch.allclose(maps[0].sum(-1), torch.ones(2, 4, 64, device="cuda"), atol=1e-5)


@pytest.mark.parametrize("compiled", [False, True])
def test_sliced_output_loss_matches_the_plain_one_in_bf16_on_cuda(monkeypatch, compiled):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=5000, block_size=64, n_layer=2, n_head=4, n_embd=128)).cuda()
    run = torch.compile(model) if compiled else model
    idx, targets = (torch.randint(0, 5000, (8, 64), device="cuda") for _ in range(2))

    def loss_and_grad():
        model.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits, loss = run(idx, targets)
        loss.backward()
        return logits, loss.detach(), model.wte.weight.grad.clone()

    full, plain, g_plain = loss_and_grad()
    monkeypatch.setattr(linear_loss, "MIN_LOGIT_BYTES", 0)
    if compiled:
        torch._dynamo.reset()
    none, sliced, g_sliced = loss_and_grad()
    assert full is not None and none is None
    torch.testing.assert_close(sliced, plain, atol=2e-2, rtol=1e-2)
    torch.testing.assert_close(g_sliced, g_plain, atol=2e-3, rtol=5e-2)
