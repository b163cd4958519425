import json
from pathlib import Path

import pytest
import torch

from engine.infer.generate import (
    SamplingOptions,
    adjust_logits,
    beam_search,
    generate_text,
    greedy_continuations,
    stream,
)
from engine.model import checkpoint as ckpt
from engine.model.load import load_for_inference
from engine.run.events import read_events
from engine.train.trainer import Trainer
from tests.conftest import tiny_config
from tests.helpers import step_losses, train


def test_loss_falls_and_the_run_folder_is_complete(tmp_path, tiny_text, capsys):
    cfg = tiny_config(tiny_text, tmp_path, train={"max_steps": 60, "eval_interval": 30})
    trainer = train(cfg)
    run = tmp_path / "run"
    evals = [e for e in read_events(run / "events.jsonl") if e.type == "eval"]
    assert [e.step for e in evals] == [0, 30, 60]
    assert evals[-1]["val_loss"] < evals[0]["val_loss"] - 1.0
    assert {p.name for p in run.iterdir()} >= {"run.toml", "tokenizer.json", "events.jsonl", "checkpoints",
                                               "attention", "train.log"}
    assert not (run / "lock").exists()
    assert [c.step for c in ckpt.list_checkpoints(run)] == [30, 60]
    assert not list(run.rglob("*.pt")) and not list(run.rglob("*.pkl"))
    assert trainer.best_val == pytest.approx(evals[-1]["val_loss"], abs=1e-6)
    started = next(e for e in read_events(run / "events.jsonl") if e.type == "started")
    tokens, positions = trainer.model.wte.weight.numel(), trainer.model.wpe.weight.numel()
    assert started["non_embedding_params"] == started["n_params"] - tokens - positions
    assert started["matmul_params"] == started["n_params"] - positions  # the tied head is a matmul
    from engine.cli import main

    assert main(["eval", str(run), "--batches", str(cfg.train.eval_batches)]) == 0
    assert f"validation loss {evals[-1]['val_loss']:.4f}, perplexity" in capsys.readouterr().out


def test_resume_continues_exactly_the_uninterrupted_curve(tmp_path, tiny_text):
    extra = {"max_steps": 40, "eval_interval": 10, "checkpoint_interval": 20}
    whole = tiny_config(tiny_text, tmp_path / "a", train=extra | {"out_dir": str(tmp_path / "whole")},
                        model={"dropout": 0.1})
    train(whole)
    part = tiny_config(tiny_text, tmp_path / "b", train=extra | {"out_dir": str(tmp_path / "part")},
                       model={"dropout": 0.1})
    stopped = train(part, stop_at=17)
    assert stopped.step == 17  # stop saves a checkpoint where it is
    assert ckpt.list_checkpoints(tmp_path / "part")[-1].step == 17
    train(part, resume=True)
    a, b = step_losses(tmp_path / "whole"), step_losses(tmp_path / "part")
    assert sorted(b) == list(range(1, 41))
    assert [a[s] for s in range(1, 41)] == [b[s] for s in range(1, 41)]


def test_a_crash_while_writing_a_checkpoint_keeps_the_previous_one(tmp_path, tiny_text, monkeypatch):
    cfg = tiny_config(tiny_text, tmp_path, train={"max_steps": 10, "eval_interval": 10})
    trainer = train(cfg)
    run = tmp_path / "run"
    before = (run / "checkpoints" / "step-000010" / "model.safetensors").read_bytes()

    def dies_half_way(tensors, path, metadata=None):
        Path(path).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt, "save_file", dies_half_way)
    with pytest.raises(OSError):
        ckpt.save_checkpoint(run, 10, trainer.model, meta={})
    with pytest.raises(OSError):
        ckpt.save_checkpoint(run, 20, trainer.model, meta={})
    assert [c.step for c in ckpt.list_checkpoints(run)] == [10]
    assert (run / "checkpoints" / "step-000010" / "model.safetensors").read_bytes() == before
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["step-000010"]


def test_pickles_and_damaged_files_are_refused_never_unpickled(tmp_path, tiny_text):
    cfg = tiny_config(tiny_text, tmp_path, train={"max_steps": 10, "eval_interval": 10})
    train(cfg)
    path = tmp_path / "run" / "checkpoints" / "step-000010"
    model_file = path / "model.safetensors"
    model_file.write_bytes(model_file.read_bytes()[:100])
    from engine.core.errors import UserError

    with pytest.raises(UserError, match="corrupt or truncated"):
        load_for_inference(tmp_path / "run")
    torch.save({"x": torch.zeros(2)}, model_file)
    with pytest.raises(UserError, match="pickle/zip file, not safetensors"):
        load_for_inference(tmp_path / "run")


def test_checkpoint_meta_describes_the_model(tmp_path, tiny_text):
    cfg = tiny_config(tiny_text, tmp_path, train={"max_steps": 10, "eval_interval": 10})
    train(cfg)
    meta = json.loads((tmp_path / "run" / "checkpoints" / "step-000010" / "meta.json").read_text())
    assert meta["model"]["n_layer"] == 1 and meta["model"]["n_embd"] == 32 and meta["step"] == 10
    model, tokenizer, path = load_for_inference(tmp_path / "run")
    assert path.name == "step-000010" and model.config.vocab_size == tokenizer.vocab_size


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tests.conftest import PANGRAMS

    tmp = tmp_path_factory.mktemp("gen")
    (tmp / "c.txt").write_text("\n\n".join(PANGRAMS * 40))
    cfg = tiny_config(tmp / "c.txt", tmp, train={"max_steps": 80, "eval_interval": 80},
                      model={"n_layer": 2, "n_embd": 48, "block_size": 32})
    train(cfg)
    return load_for_inference(tmp / "run")


def test_generation_is_seeded_and_greedy_is_deterministic(trained):
    model, tok, _ = trained
    a = generate_text(model, tok, "The ", SamplingOptions(max_new_tokens=30, temperature=1.0, seed=3))
    b = generate_text(model, tok, "The ", SamplingOptions(max_new_tokens=30, temperature=1.0, seed=3))
    assert a == b and len(a) == 30
    g1 = generate_text(model, tok, "The ", SamplingOptions(max_new_tokens=40, temperature=0))
    g2 = generate_text(model, tok, "The ", SamplingOptions(max_new_tokens=40, temperature=0, seed=99))
    assert g1 == g2


def test_generation_past_the_context_and_without_cache_agree(trained):
    model, tok, _ = trained
    ids = tok.encode("Sphinx of black quartz")
    with_cache = [t.id for t in stream(model, ids, SamplingOptions(max_new_tokens=50, temperature=0))]
    no_cache = [t.id for t in stream(model, ids, SamplingOptions(max_new_tokens=50, temperature=0, use_cache=False))]
    assert with_cache == no_cache and len(with_cache) == 50


def test_greedy_continuations_in_batches_are_the_streams_one_prompt_at_a_time(trained):
    model, tok, _ = trained
    texts = ["The ", "How vex", "Sphinx of", "The quick", "Pack my box", "How q", "x" * 40]  # the last outgrows it
    prompts = [tok.encode(t) for t in texts]
    eos, banned = tok.encode("k")[0], tok.encode("j")  # "k" ends a response; "j", the likeliest, is never written
    one_by_one = []
    for p in prompts:
        p = p[-(model.config.block_size - 1):]
        ids = []
        for t in stream(model, p, SamplingOptions(max_new_tokens=model.config.block_size - len(p), temperature=0,
                                                  banned=banned)):
            if t.id == eos:
                break
            ids.append(t.id)
        one_by_one.append(ids)
    batched = greedy_continuations(model, prompts, eos=eos, banned=banned, rows=2)
    assert batched == one_by_one
    assert any(len(r) < model.config.block_size - len(p) for r, p in zip(batched, prompts))  # some ended at eos
    assert all(banned[0] not in r for r in batched)


def test_stop_strings_cut_the_output(trained):
    model, tok, _ = trained
    text = generate_text(model, tok, "T", SamplingOptions(max_new_tokens=60, temperature=0, stop=[" "]))
    assert " " not in text and len(text) < 60


def test_top_k_top_p_and_repetition_penalty_shape_the_distribution():
    logits = torch.tensor([[4.0, 3.0, 2.0, 1.0, 0.0]])
    k2 = adjust_logits(logits, torch.zeros(1, 0, dtype=torch.long), SamplingOptions(top_k=2))
    assert torch.isinf(k2[0, 2:]).all() and torch.isfinite(k2[0, :2]).all()
    p = torch.softmax(logits, -1)[0]
    top_p = adjust_logits(logits, torch.zeros(1, 0, dtype=torch.long), SamplingOptions(top_p=float(p[0]) + 0.01))
    assert torch.isfinite(top_p[0, :2]).all() and torch.isinf(top_p[0, 2:]).all()
    rep = adjust_logits(logits, torch.tensor([[0]]), SamplingOptions(repetition_penalty=2.0))
    assert rep[0, 0] == 2.0 and rep[0, 1] == 3.0
    hot = adjust_logits(logits, torch.zeros(1, 0, dtype=torch.long), SamplingOptions(temperature=0.5))
    assert torch.allclose(hot, logits * 2)


def test_alternatives_report_probabilities(trained):
    model, tok, _ = trained
    first = next(stream(model, tok.encode("The quick"), SamplingOptions(max_new_tokens=1, temperature=0)))
    assert first.id == first.alternatives[0][0]
    assert first.prob == pytest.approx(first.alternatives[0][1])
    assert sum(p for _, p in first.alternatives) <= 1.0 + 1e-6


def test_beam_search_scores_at_least_as_well_as_greedy(trained):
    model, tok, _ = trained
    prompt = tok.encode("How vex")

    def logprob(cont):
        ids = torch.tensor([prompt + cont])
        logp = torch.log_softmax(model(ids)[0][0, len(prompt) - 1:-1], -1)
        return float(logp.detach().gather(1, torch.tensor(cont)[:, None]).sum())

    greedy = [t.id for t in stream(model, prompt, SamplingOptions(max_new_tokens=12, temperature=0))]
    beams = beam_search(model, prompt, beams=4, max_new_tokens=12)
    assert len(beams) == 12 and logprob(beams) >= logprob(greedy) - 1e-4


def test_an_automatic_micro_batch_fits_the_memory_and_is_recorded(tmp_path, tiny_text):
    from engine.config import schema as config_mod
    from engine.plan.estimate import auto_batch_size, estimate

    cfg = tiny_config(tiny_text, tmp_path, train={"auto_batch_size": True, "max_steps": 2})
    sizes = [auto_batch_size(cfg, 60, budget) for budget in (1e5, 3e6, 1e7, 1e12)]
    assert sizes == sorted(sizes) and sizes[0] == 1 and sizes[-1] == 64
    for budget, b in zip((3e6, 1e7), sizes[1:3]):
        fits = cfg.copy()
        fits.train.batch_size = b
        assert estimate(fits, vocab_size=60).memory_bytes <= budget
        fits.train.batch_size = 2 * b
        assert estimate(fits, vocab_size=60).memory_bytes > budget or b == 64
    trainer = train(cfg)
    assert trainer.cfg.train.batch_size == 16  # the CPU's choice: no speed to gain beyond it
    recorded = config_mod.load(tmp_path / "run" / "run.toml").train
    assert recorded.batch_size == 16 and not recorded.auto_batch_size, "a resume keeps the chosen batch"


def test_run_summaries_follow_the_event_file_and_skip_rereading_it(tmp_path, tiny_text, monkeypatch):
    from engine.run import runinfo

    cfg = tiny_config(tiny_text, tmp_path, train={"max_steps": 4, "eval_interval": 2})
    train(cfg)
    run = tmp_path / "run"
    first = runinfo.summarize(run)
    assert first.status == "finished" and first.step == 4 and first.best_val_loss is not None
    reads = []
    real = runinfo.read_events
    monkeypatch.setattr(runinfo, "read_events", lambda path: reads.append(path) or real(path))
    assert runinfo.summarize(run).best_val_loss == first.best_val_loss and not reads, "unchanged: not read again"
    with open(run / "events.jsonl", "a") as f:
        f.write('{"v": 1, "type": "eval", "time": 1.0, "step": 4, "train_loss": 0.1, "val_loss": 0.01}\n')
    assert runinfo.summarize(run).best_val_loss == 0.01 and len(reads) == 1


def test_a_causal_evaluations_train_loss_is_the_mean_of_its_steps(tmp_path, tiny_text):
    """No repeated work: the steps since the last evaluation already measured the training loss."""
    cfg = tiny_config(tiny_text, tmp_path, train={"max_steps": 20, "eval_interval": 10})
    train(cfg)
    events = read_events(tmp_path / "run" / "events.jsonl")
    steps = {e.step: e["loss"] for e in events if e.type == "step"}
    evals = {e.step: e["train_loss"] for e in events if e.type == "eval"}
    assert evals[10] == pytest.approx(sum(steps[s] for s in range(1, 11)) / 10)
    assert evals[20] == pytest.approx(sum(steps[s] for s in range(11, 21)) / 10)
    assert evals[0] > 0  # before any step: measured on fixed training windows, as before


def test_a_run_on_all_cores_after_one_on_a_single_thread_gets_them_back(tmp_path, tiny_text, monkeypatch):
    """train.threads = 0 is torch's default, not whatever an earlier run in this process (a sweep, a notebook)
    asked for."""
    from engine.runtime import device

    before = torch.get_num_threads()
    monkeypatch.setattr(device, "TORCH_DEFAULT_THREADS", 3)  # as on a 3-core machine, whatever this one has
    monkeypatch.setattr(device, "cpu_count", lambda: 3)
    monkeypatch.setattr(device.os, "getloadavg", lambda: (0.4, 0.4, 0.4))  # an idle machine
    seen = []
    monkeypatch.setattr(Trainer, "fit", lambda self: seen.append(torch.get_num_threads()) or "done")
    for run, threads in (("one", 1), ("all", 0)):
        train(tiny_config(tiny_text, tmp_path / run, train={"max_steps": 2, "threads": threads}))
    torch.set_num_threads(before)
    assert seen == [1, 3]


@pytest.mark.parametrize("load, threads", [(0.9, 4), (1.2, 3), (3.5, 1), (9.0, 1)])
def test_automatic_threads_leave_out_the_cores_other_work_keeps_busy(monkeypatch, load, threads):
    """Threads that wait on each other beside other work made steps 20-70x slower: a busy machine gets fewer."""
    from engine.runtime import device

    before = torch.get_num_threads()
    monkeypatch.setattr(device, "TORCH_DEFAULT_THREADS", 4)
    monkeypatch.setattr(device, "cpu_count", lambda: 4)
    monkeypatch.setattr(device.os, "getloadavg", lambda: (load, 0.0, 0.0))
    try:
        assert device.set_threads(0) == threads
        said = device.describe(torch.device("cpu"))
        assert said == f"CPU ({threads} thread{'s' * (threads > 1)}" + (f", {4 - threads} fewer: other work keeps the cores busy)"
                                                     if threads < 4 else ")")
        assert device.set_threads(2) == 2 and device.describe(torch.device("cpu")) == "CPU (2 threads)"
    finally:
        torch.set_num_threads(before)


def test_a_checkpoint_records_its_own_validation_loss_and_best_is_chosen_by_it(tmp_path, tiny_text):
    """Checkpoints between evaluations hold no loss of their own (not the best so far), so `best` is a
    checkpoint whose own weights scored lowest."""
    from engine.run.folder import best_checkpoint, checkpoints

    cfg = tiny_config(tiny_text, tmp_path, train={"max_steps": 8, "eval_interval": 4, "checkpoint_interval": 2,
                                                  "keep_last": 10})
    train(cfg)
    run = tmp_path / "run"
    evals = {e.step: e["val_loss"] for e in read_events(run / "events.jsonl") if e.type == "eval"}
    found = {step: loss for _, step, loss in checkpoints(run)}
    assert found == {2: None, 4: pytest.approx(evals[4], abs=1e-4), 6: None, 8: pytest.approx(evals[8], abs=1e-4)}
    assert best_checkpoint(run) == f"step-{min((4, 8), key=evals.get):06d}"
