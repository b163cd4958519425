"""What a run does besides its steps, done with less work: samples that shift a full context instead of
re-reading it for every token, evaluation batches run several to a pass, probes off NumPy's threads,
inference mode for what needs no gradients."""

import pytest
import torch

from engine.infer.generate import SHIFT, SamplingOptions, stream
from engine.model.gpt import GPT, GPTConfig
from engine.run.events import EventWriter
from engine.train import tasks
from engine.train.trainer import Trainer
from tests.conftest import tiny_config


def model(**kw):
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=30, block_size=16, n_layer=2, n_head=2, n_embd=32, **kw))


@pytest.mark.parametrize("position", ["rope", "learned"])
def test_a_full_context_is_read_again_once_every_quarter_of_it(position):
    m = model(position=position)
    passes = []
    m.register_forward_pre_hook(lambda _, args: passes.append(args[0].size(1)))
    prompt = list(range(1, 7))
    made = [t.id for t in stream(m, prompt, SamplingOptions(max_new_tokens=40, temperature=0), n_alternatives=0)]
    reads = [n for n in passes if n > 1]
    # the prompt, then the last 12 tokens read again whenever the context of 16 overflows: after 11 new
    # tokens, then every 4 + 1 (at 11, 16, 21, 26, 31, 36 of the 40), instead of at each of the last 30
    assert reads[0] == 6 and set(reads[1:]) == {16 - 16 // SHIFT} and len(reads) == 1 + 6
    assert len(passes) == 1 + 40  # a pass per new token: a shift's re-read stands in for the token's own
    uncached = [t.id for t in stream(m, prompt, SamplingOptions(max_new_tokens=40, temperature=0, use_cache=False))]
    assert made == uncached  # the same context either way


def test_a_sample_without_alternatives_reads_no_probabilities():
    m = model()
    token = next(stream(m, [1, 2], SamplingOptions(max_new_tokens=1, seed=0), n_alternatives=0))
    assert token.alternatives == [] and token.prob != token.prob  # nan
    token = next(stream(m, [1, 2], SamplingOptions(max_new_tokens=1, seed=0)))
    assert len(token.alternatives) == 5 and 0 < token.prob <= 1


def test_a_model_that_decoded_first_still_trains():
    m = model(position="rope")  # its rotary tables are made, and cached, inside inference mode
    list(stream(m, [1, 2, 3], SamplingOptions(max_new_tokens=3, seed=0)))
    m.train()
    x = torch.randint(0, 30, (2, 9))
    m(x[:, :-1], x[:, 1:])[1].backward()
    assert m.wte.weight.grad is not None


def test_evaluation_batches_run_together_give_the_same_loss(tmp_path, tiny_text, monkeypatch):
    cfg = tiny_config(tiny_text, tmp_path, train={"max_steps": 3, "eval_batches": 6})
    trainer = Trainer(cfg, events=EventWriter(None), run_dir=tmp_path / "run")
    trainer.setup()
    trainer.model.eval()
    merged = trainer.task.eval_batches("val")
    assert len(merged) == 1 and merged[0]["idx"].shape == (6 * 4, 16)  # 6 batches of 4 rows in one pass
    together = trainer.task.evaluate(trainer.model, "val")
    monkeypatch.setattr(tasks, "EVAL_ROWS", 4)  # one batch a pass, as before
    assert len(trainer.task.eval_batches("val")) == 6
    apart = trainer.task.evaluate(trainer.model, "val")
    assert together.keys() == apart.keys()
    assert all(together[k] == pytest.approx(apart[k], rel=1e-5, abs=1e-6) for k in together)
    monkeypatch.setattr(tasks, "EVAL_ROWS", 48)
    monkeypatch.setattr(tasks, "EVAL_LOGIT_BYTES", 16 * trainer.gpt_config.vocab_size * 4 * 8)  # 8 rows of logits
    assert [b["idx"].shape[0] for b in trainer.task.eval_batches("val")] == [8, 8, 8]
