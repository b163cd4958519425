"""Hugging Face interoperability: an exported model gives the engine's logits in `transformers`."""

import pytest
import torch

from engine.core.errors import UserError
from engine.data.tokenizer import train_tokenizer
from engine.infer.generate import SamplingOptions, stream
from engine.interop.hf import export_model, import_model
from engine.model.build import build_model
from engine.model.gpt import GPTConfig
from tests.conftest import PANGRAMS

transformers = pytest.importorskip("transformers")


def randomized(cfg: GPTConfig):
    """A model whose every weight (norms and biases too) is random, so no mapping error can hide."""
    torch.manual_seed(0)
    model = build_model(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.2 + (1.0 if p.dim() == 1 and p.shape[0] == cfg.n_embd else 0.0))
    return model.eval()


@pytest.fixture(scope="module")
def tokenizer():
    tok = train_tokenizer("wordpiece", lambda: PANGRAMS * 10, vocab_size=300)
    return tok


def config(tokenizer, **kw):
    kw = {"bias": True} | kw
    return GPTConfig(vocab_size=tokenizer.vocab_size, block_size=24, n_layer=2, n_head=4, n_embd=32, **kw)


@pytest.mark.parametrize("mlp", ["gelu", "gelu_tanh"])
@pytest.mark.parametrize("tie", [True, False])
def test_gpt2_export_gives_the_same_logits(tmp_path, tokenizer, mlp, tie):
    model = randomized(config(tokenizer, mlp=mlp, tie_weights=tie))
    out = export_model(model, tokenizer, tmp_path / "gpt2")
    hf = transformers.AutoModelForCausalLM.from_pretrained(out).eval()
    x = torch.tensor([tokenizer.encode(PANGRAMS[0])[:24]])
    with torch.no_grad():
        ours, theirs = model(x)[0], hf(x).logits
    assert (ours - theirs).abs().max() < 1e-4
    hf_tok = transformers.AutoTokenizer.from_pretrained(out)
    assert hf_tok(PANGRAMS[1], add_special_tokens=False)["input_ids"] == tokenizer.encode(PANGRAMS[1])


def test_a_model_without_biases_exports_with_zero_biases(tmp_path, tokenizer):
    cfg = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=24, n_layer=1, n_head=2, n_embd=32, bias=False,
                    position="sinusoidal")
    model = randomized(cfg)
    hf = transformers.AutoModelForCausalLM.from_pretrained(export_model(model, tokenizer, tmp_path / "g")).eval()
    x = torch.tensor([tokenizer.encode(PANGRAMS[2])[:24]])
    with torch.no_grad():
        assert (model(x)[0] - hf(x).logits).abs().max() < 1e-4


def test_bert_export_with_nsp_gives_the_same_logits(tmp_path, tokenizer):
    model = randomized(config(tokenizer, arch="bert", nsp=True))
    out = export_model(model, tokenizer, tmp_path / "bert")
    hf = transformers.BertForPreTraining.from_pretrained(out).eval()
    a, b = tokenizer.encode(PANGRAMS[0])[:8], tokenizer.encode(PANGRAMS[1])[:8]
    cls, sep, pad = (tokenizer.token_id(t) for t in ("[CLS]", "[SEP]", "[PAD]"))
    ids = torch.tensor([[cls, *a, sep, *b, sep], [cls, *a, sep, pad, pad, pad, pad, pad, pad, pad, pad, pad]])
    types = torch.tensor([[0] * 10 + [1] * 9, [0] * 19])
    keep = torch.tensor([[1] * 19, [1] * 10 + [0] * 9])
    with torch.no_grad():
        hidden = model.encode(ids, types, keep.bool())
        theirs = hf(input_ids=ids, token_type_ids=types, attention_mask=keep)
        assert (model.mlm_logits(hidden) - theirs.prediction_logits)[keep.bool()].abs().max() < 1e-4
        assert (model.nsp_logits(hidden) - theirs.seq_relationship_logits).abs().max() < 1e-4


@pytest.mark.parametrize("arch", ["gpt", "bert"])
def test_classifiers_export_with_their_labels(tmp_path, tokenizer, arch):
    model = randomized(config(tokenizer, arch=arch, num_labels=3))
    out = export_model(model, tokenizer, tmp_path / arch, labels=["neg", "neutral", "pos"])
    hf = transformers.AutoModelForSequenceClassification.from_pretrained(out).eval()
    assert hf.config.id2label[2] == "pos"
    ids = tokenizer.encode(PANGRAMS[3])[:20]
    if arch == "bert":
        ids = [tokenizer.token_id("[CLS]"), *ids, tokenizer.token_id("[SEP]")]
    x = torch.tensor([ids])
    with torch.no_grad():
        assert (model(x)[0] - hf(x).logits).abs().max() < 1e-4


@pytest.mark.parametrize("arch", ["gpt", "bert"])
def test_import_of_an_exported_folder_gives_back_the_model(tmp_path, tokenizer, arch):
    model = randomized(config(tokenizer, arch=arch))
    out = export_model(model, tokenizer, tmp_path / arch)
    cfg, tensors, tok = import_model(out)
    again = build_model(cfg).eval()
    missing, unexpected = again.load_state_dict(tensors, strict=False)
    assert not unexpected and set(missing) <= {"lm_head.weight", "mlm_decoder.weight"}
    x = torch.tensor([tok.encode(PANGRAMS[4])[:24]])
    with torch.no_grad():
        assert (model(x)[0] - again(x)[0]).abs().max() < 1e-5


ROTARY = {  # the default model (rotary positions) in the two families that hold it
    "neox-gelu-tied": ("gpt_neox", dict(position="rope", mlp="gelu")),
    "neox-tanh-untied-nobias": ("gpt_neox", dict(position="rope", mlp="gelu_tanh", tie_weights=False, bias=False)),
    "llama-tied-nobias": ("llama", dict(position="rope", norm="rmsnorm", mlp="swiglu", bias=False)),
    "llama-untied-bias-theta": ("llama", dict(position="rope", norm="rmsnorm", mlp="swiglu", tie_weights=False,
                                              rope_base=500000.0)),
}


@pytest.mark.parametrize("name", ROTARY)
def test_rotary_models_export_to_neox_or_llama_with_the_same_logits(tmp_path, tokenizer, name):
    family, kw = ROTARY[name]
    model = randomized(config(tokenizer, **kw))
    out = export_model(model, tokenizer, tmp_path / name)
    hf = transformers.AutoModelForCausalLM.from_pretrained(out).eval()
    assert hf.config.model_type == family
    x = torch.tensor([tokenizer.encode(PANGRAMS[0] + " " + PANGRAMS[1])[:24]])
    with torch.no_grad():
        assert (model(x)[0] - hf(x).logits).abs().max() < 1e-4
        theirs = hf.generate(x[:, :5], max_new_tokens=8, do_sample=False, pad_token_id=0)[0, 5:].tolist()
    ours = [t.id for t in stream(model, x[0, :5].tolist(), SamplingOptions(max_new_tokens=8, temperature=0))]
    assert ours == theirs  # greedy continuations through each side's own key/value cache
    cfg, tensors, _ = import_model(out)
    again = build_model(cfg).eval()
    missing, unexpected = again.load_state_dict(tensors, strict=False)
    assert not unexpected and set(missing) <= {"lm_head.weight"}
    with torch.no_grad():
        assert (model(x)[0] - again(x)[0]).abs().max() < 1e-5


@pytest.mark.parametrize("kw", [dict(position="rope"), dict(position="rope", norm="rmsnorm", mlp="swiglu")])
def test_rotary_classifiers_export_with_their_labels(tmp_path, tokenizer, kw):
    model = randomized(config(tokenizer, num_labels=2, **kw))
    out = export_model(model, tokenizer, tmp_path / "c", labels=["no", "yes"])
    hf = transformers.AutoModelForSequenceClassification.from_pretrained(out).eval()
    assert hf.config.id2label[1] == "yes"
    x = torch.tensor([tokenizer.encode(PANGRAMS[3])[:20]])
    with torch.no_grad():
        assert (model(x)[0] - hf(x).logits).abs().max() < 1e-4


def test_export_refuses_what_no_family_holds_and_a_nonempty_folder(tmp_path, tokenizer):
    with pytest.raises(UserError, match="no transformers family holds this decoder .*norm = 'rmsnorm', mlp = 'gelu'"):
        export_model(randomized(config(tokenizer, position="rope", norm="rmsnorm")), tokenizer, tmp_path / "x")
    with pytest.raises(UserError, match="cannot be written as a Hugging Face BERT"):
        export_model(randomized(config(tokenizer, arch="bert", position="rope")), tokenizer, tmp_path / "x")
    with pytest.raises(UserError, match="normalizes before each block .*prenorm = false"):
        export_model(randomized(config(tokenizer, arch="bert", prenorm=True)), tokenizer, tmp_path / "x")
    assert not (tmp_path / "x").exists()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(UserError, match="not empty"):
        export_model(randomized(config(tokenizer)), tokenizer, tmp_path / "full")
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


def test_folders_saved_by_transformers_itself_import_with_the_same_logits(tmp_path):
    """Real GPT-2 (gelu_new, Conv1D, vocab.json + merges.txt) and BERT (vocab.txt) folders, no network."""
    import json

    torch.manual_seed(0)
    words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog"]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    bert_tok = transformers.BertTokenizer(str(tmp_path / "vocab.txt"))
    bert = transformers.BertForMaskedLM(transformers.BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
        max_position_embeddings=32)).eval()
    bert.save_pretrained(tmp_path / "bert")
    bert_tok.save_pretrained(tmp_path / "bert")
    (tmp_path / "bert" / "tokenizer.json").unlink(missing_ok=True)  # as an old folder: vocab.txt alone
    (tmp_path / "bert" / "vocab.txt").write_text((tmp_path / "vocab.txt").read_text())

    byte_vocab = {ch: i for i, ch in enumerate(sorted(set("Ġthequickbrownfox")))}
    (tmp_path / "vocab.json").write_text(json.dumps(byte_vocab))
    (tmp_path / "merges.txt").write_text("#version: 0.2\n")
    gpt2 = transformers.GPT2LMHeadModel(transformers.GPT2Config(
        vocab_size=len(byte_vocab), n_positions=32, n_embd=32, n_layer=2, n_head=4)).eval()
    gpt2.save_pretrained(tmp_path / "gpt2")
    for name in ("vocab.json", "merges.txt"):
        (tmp_path / "gpt2" / name).write_text((tmp_path / name).read_text())

    for folder, hf, text in ((tmp_path / "bert", bert, "the quick brown fox"), (tmp_path / "gpt2", gpt2, "the fox")):
        cfg, tensors, tok = import_model(folder)
        ours = build_model(cfg).eval()
        ours.load_state_dict(tensors, strict=False)
        ids = tok.encode(text)
        assert ids and tok.token_id("[UNK]") not in ids
        x = torch.tensor([ids])
        with torch.no_grad():
            assert (ours(x)[0] - hf(x).logits).abs().max() < 1e-4, folder.name
    assert import_model(tmp_path / "gpt2")[0].mlp == "gelu_tanh"


def test_neox_and_llama_folders_saved_by_transformers_import_with_the_same_logits(tmp_path, tokenizer):
    torch.manual_seed(0)
    shape = dict(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=96, max_position_embeddings=32)
    made = {
        "neox": transformers.GPTNeoXForCausalLM(transformers.GPTNeoXConfig(
            **shape, use_parallel_residual=False, rotary_pct=1.0, rope_parameters={
                "rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 1.0})),
        "llama": transformers.LlamaForCausalLM(transformers.LlamaConfig(**shape, num_key_value_heads=4)),
    }
    x = torch.tensor([tokenizer.encode(PANGRAMS[2])[:20]])
    for name, hf in made.items():
        with torch.no_grad():
            for p in hf.parameters():  # norms and biases random too
                p.add_(torch.randn_like(p) * 0.1)
        hf.eval().save_pretrained(tmp_path / name)
        (tmp_path / name / "tokenizer.json").write_text(tokenizer.to_str())
        cfg, tensors, _ = import_model(tmp_path / name)
        assert cfg.mlp_hidden == 96
        ours = build_model(cfg).eval()
        ours.load_state_dict(tensors, strict=False)
        with torch.no_grad():
            assert (ours(x)[0] - hf(x).logits).abs().max() < 1e-4, name


def test_neox_and_llama_folders_the_engine_cannot_hold_are_refused_in_words(tmp_path):
    import json

    for name, hf, expect in (
            ("pythia", {"model_type": "gpt_neox", "use_parallel_residual": True}, "in parallel"),
            ("partial", {"model_type": "gpt_neox", "use_parallel_residual": False, "rotary_pct": 0.25},
             "rotates 25% of each head"),
            ("gqa", {"model_type": "llama", "hidden_size": 64, "num_attention_heads": 8, "num_key_value_heads": 2},
             "grouped-query attention")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(json.dumps(hf))
        (tmp_path / name / "model.safetensors").write_bytes(b"")
        with pytest.raises(UserError, match=expect):
            import_model(tmp_path / name)


SENTENCES = [p.replace(w, "[MASK]", 1) for p, w in zip(PANGRAMS, ["fox", "box", "zebras", "quartz", "wizards"])]


def test_transformers_pipelines_give_the_engines_own_answers(tmp_path, tokenizer):
    """fill-mask and text-classification through `pipeline`, which tokenizes with the folder's own
    special-token template, agree with `predict` on every sentence."""
    from engine.infer.predict import classify, fill_mask

    masked = randomized(config(tokenizer, arch="bert"))
    fill = transformers.pipeline("fill-mask", model=str(export_model(masked, tokenizer, tmp_path / "mlm")),
                                 top_k=10)
    specials = {tokenizer.token_id(t) for t in ("[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]")}
    for text in SENTENCES:
        _, guesses = fill_mask(masked, tokenizer, text, top_k=3)
        theirs = [t for t in fill(text) if t["token"] not in specials][:3]  # predict never offers those
        assert [tokenizer.decode([t["token"]]) for t in theirs] == [tok for tok, _ in guesses[0].candidates]
        assert [t["score"] for t in theirs] == pytest.approx([p for _, p in guesses[0].candidates], abs=1e-4)
    for arch in ("bert", "gpt"):
        model = randomized(config(tokenizer, arch=arch, num_labels=3))
        model.labels = ["neg", "neutral", "pos"]
        out = export_model(model, tokenizer, tmp_path / f"cls-{arch}", labels=model.labels)
        label = transformers.pipeline("text-classification", model=str(out), top_k=None)
        for text in PANGRAMS:
            ours = classify(model, tokenizer, text)
            theirs = label([text])[0]  # every label, most likely first
            assert [t["label"] for t in theirs] == [name for name, _ in ours]
            assert [t["score"] for t in theirs] == pytest.approx([p for _, p in ours], abs=1e-4)


def test_export_checks_that_transformers_tokenizes_as_the_engine(tmp_path, tokenizer, monkeypatch):
    from engine.interop import hf_tokenizer

    model = randomized(config(tokenizer, arch="bert"))
    monkeypatch.setattr(hf_tokenizer, "TemplateProcessing", lambda **kw: None)  # an export without the template
    with pytest.raises(UserError, match="would not tokenize as the engine does"):
        export_model(model, tokenizer, tmp_path / "broken")
    assert not (tmp_path / "broken").exists() and not list(tmp_path.iterdir())
