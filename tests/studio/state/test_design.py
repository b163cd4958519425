"""The designed run, decided without Qt: problems and can-train, the vocabulary's one source, the estimate."""

from engine.config import schema as C
from engine.plan.estimate import estimate
from engine.run.source import SourceInfo
from studio.model.hardware import Device
from studio.state import AppState
from studio.state.design import CHAR_VOCAB_GUESS, CorpusFacts, DesignState, source_fields, vocabulary

CPU = [Device("cpu", "CPU (2 cores)", 8e11)]


def small(tmp_path, **model) -> C.RunConfig:
    corpus = tmp_path / "c.txt"
    corpus.write_text("the quick brown fox jumps over the lazy dog\n" * 400)
    cfg = C.RunConfig(name="tiny")
    cfg.data.path = str(corpus)
    cfg.model.n_layer, cfg.model.n_head, cfg.model.n_embd, cfg.model.block_size = 1, 2, 16, 16
    for key, value in model.items():
        setattr(cfg.model, key, value)
    return cfg


def test_a_sound_run_can_train_and_its_problems_are_the_forms(tmp_path):
    state = AppState()
    d = state.design.decide(small(tmp_path), [], CorpusFacts(), CPU)
    assert d.problems == [] and d.can_train and state.form.can_train
    assert state.design.current is d


def test_problems_of_the_form_the_shape_and_the_name_refuse_training(tmp_path):
    state = AppState()
    cfg = small(tmp_path, n_head=3)  # 16 wide is not divisible into 3 heads
    cfg.name = ""
    d = state.design.decide(cfg, ["train.lr must be a number like 3e-4, got 'x'"], CorpusFacts(), CPU)
    assert not d.can_train and not state.form.can_train
    assert d.problems[0].startswith("train.lr") and "give the run a name" in d.problems
    assert any(p.startswith("model.") for p in d.problems)
    assert d.estimate is None, "a shape the engine refuses has no estimate"


def test_a_missing_corpus_is_a_problem(tmp_path):
    cfg = small(tmp_path)
    cfg.data.path = str(tmp_path / "nowhere.txt")
    assert not DesignState().decide(cfg, [], CorpusFacts(), CPU).can_train


def test_the_estimate_is_the_engines_for_the_same_config(tmp_path):
    cfg = small(tmp_path)
    cfg.tokenizer.kind = "char"
    d = DesignState().decide(cfg, [], CorpusFacts(cfg.tokenizer, 37, 17_600), CPU)
    assert d.vocab == 37 and d.vocab_from == "corpus" and d.approx == ""
    assert d.estimate == estimate(cfg, vocab_size=37, peak_flops=8e11, device_type="cpu", world_size=1)
    assert d.memory_problem is None and d.precision_problem is None


def test_the_vocabulary_comes_from_one_place():
    cfg = C.RunConfig()
    cfg.tokenizer = C.TokenizerConfig(kind="bpe", vocab_size=8192)
    prepared = CorpusFacts(C.TokenizerConfig(kind="bpe", vocab_size=8192), 2000, 50_000)
    assert vocabulary(cfg, 1234, prepared) == (1234, "source"), "a fine-tune keeps its source's tokenizer"
    assert vocabulary(cfg, None, prepared) == (2000, "corpus"), "the prepared tokenizer's, not its target"
    cfg.tokenizer.vocab_size = 4096  # the form's tokenizer is no longer the prepared one
    assert vocabulary(cfg, None, prepared) == (4096, "form")
    cfg.tokenizer.kind = "char"
    assert vocabulary(cfg, None, CorpusFacts()) == (CHAR_VOCAB_GUESS, "guess")


def test_a_source_shows_its_tokenizers_vocabulary_not_the_padded_one():
    """The fine-tune form showed 2,048 where the corpus said 2,000: the model's vocabulary follows the tokenizer's."""
    info = SourceInfo("run", "gpt", {"n_layer": 2, "n_embd": 32, "vocab_size": 2048}, "base")
    fixed = source_fields(info, 2000, "bpe")
    assert fixed["tokenizer", "vocab_size"] == 2000 and fixed["tokenizer", "kind"] == "bpe"
    assert fixed["model", "vocab_size"] == 0 and fixed["model", "arch"] == "gpt" and fixed["model", "n_layer"] == 2
    wider = source_fields(SourceInfo("hf", "gpt", {"vocab_size": 50304}, "gpt2"), 2000, None)
    assert wider["model", "vocab_size"] == 50304, "a model vocabulary wider than the padded tokenizer's stays"
