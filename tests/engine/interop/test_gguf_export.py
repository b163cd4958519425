"""GGUF export: the file reads back with the gguf package's reader with llama.cpp's layout and the tokenizer
inside. The layout is checked against an independent path: the transformers folder (whose logits the
interop tests check in transformers) converted the way llama.cpp's own converter converts it."""

import json

import numpy as np
import pytest
import torch

from engine.cli import main
from engine.core.errors import UserError
from engine.data.tokenizer import train_tokenizer
from engine.interop.gguf_export import export_gguf
from engine.interop.gguf_vocab import byte_level_alphabet
from engine.interop.hf import export_model
from engine.model.build import build_model
from engine.model.gpt import GPTConfig
from tests.conftest import PANGRAMS

gguf = pytest.importorskip("gguf")
safetensors = pytest.importorskip("safetensors.torch")

TEXT = PANGRAMS + ["café — naïve façade"]
FAMILIES = {"gpt2": dict(), "gptneox": dict(position="rope"),
            "llama": dict(position="rope", norm="rmsnorm", mlp="swiglu", tie_weights=False)}


@pytest.fixture(scope="module")
def char_tok():
    return train_tokenizer("char", lambda: TEXT)


def model_for(tok, **kw):
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=tok.vocab_size, block_size=32, n_layer=2, n_head=4, n_embd=32, bias=False, **kw)
    return build_model(cfg).eval()


def read(path):
    r = gguf.GGUFReader(path)
    fields = {}
    for name, f in r.fields.items():
        values = [f.parts[i] for i in f.data]
        if f.types and f.types[0] == gguf.GGUFValueType.STRING or f.types[-1:] == [gguf.GGUFValueType.STRING]:
            values = [bytes(v).decode() for v in values]
        else:
            values = [v.tolist()[0] if len(v) == 1 else v.tolist() for v in values]
        fields[name] = values if f.types[0] == gguf.GGUFValueType.ARRAY else values[0]
    tensors = {t.name: t for t in r.tensors}
    return fields, tensors


def f32(t) -> np.ndarray:
    return np.asarray(t.data, dtype=np.float32).reshape([int(n) for n in reversed(t.shape)])


def llama_cpp_permute(w: torch.Tensor, n_head: int) -> torch.Tensor:
    """What llama.cpp's converter does to a transformers Llama's q/k rows (halves -> its rotary pairs)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


@pytest.mark.parametrize("arch", FAMILIES)
def test_the_gguf_file_holds_what_llama_cpps_converter_makes_of_the_transformers_folder(tmp_path, char_tok, arch):
    model = model_for(char_tok, **FAMILIES[arch])
    out = export_gguf(model, char_tok, tmp_path / "m.gguf", dtype="f32")
    fields, tensors = read(out)
    assert fields["general.architecture"] == arch
    assert fields[f"{arch}.context_length"] == 32 and fields[f"{arch}.block_count"] == 2
    assert fields[f"{arch}.embedding_length"] == 32 and fields[f"{arch}.attention.head_count"] == 4
    hf = safetensors.load_file(export_model(model, char_tok, tmp_path / "hf") / "model.safetensors")
    nh = 4
    if arch == "llama":
        assert fields["llama.rope.freq_base"] == 10000.0 and fields["llama.rope.dimension_count"] == 8
        for ours, theirs in (("attn_q", "q_proj"), ("attn_k", "k_proj")):
            want = llama_cpp_permute(hf[f"model.layers.1.self_attn.{theirs}.weight"], nh)
            assert np.array_equal(f32(tensors[f"blk.1.{ours}.weight"]), want.numpy())
        assert np.array_equal(f32(tensors["blk.0.ffn_gate.weight"]), hf["model.layers.0.mlp.gate_proj.weight"].numpy())
        assert np.array_equal(f32(tensors["output.weight"]), hf["lm_head.weight"].numpy())
    elif arch == "gptneox":
        assert fields["gptneox.use_parallel_residual"] is False or fields["gptneox.use_parallel_residual"] == 0
        qkv = hf["gpt_neox.layers.1.attention.query_key_value.weight"].reshape(nh, 3, 8, 32)
        want = torch.cat([qkv[:, i].reshape(32, 32) for i in range(3)])  # llama.cpp's converter's reordering
        assert np.array_equal(f32(tensors["blk.1.attn_qkv.weight"]), want.numpy())
        assert np.array_equal(f32(tensors["blk.1.attn_qkv.bias"]), np.zeros(96, np.float32))  # no biases: zeros
    else:
        want = hf["transformer.h.1.attn.c_attn.weight"].t()  # Conv1D (in, out) -> (out, in), as the converter
        assert np.array_equal(f32(tensors["blk.1.attn_qkv.weight"]), want.numpy())
        assert np.array_equal(f32(tensors["position_embd.weight"]), hf["transformer.wpe.weight"].numpy())
    assert np.array_equal(f32(tensors["token_embd.weight"]), model.wte.weight.detach().numpy())


def test_a_character_vocabulary_is_spelled_in_bytes_with_merges_for_multibyte_characters(tmp_path, char_tok):
    fields, _ = read(export_gguf(model_for(char_tok), char_tok, tmp_path / "c.gguf"))
    assert fields["tokenizer.ggml.model"] == "gpt2" and fields["tokenizer.ggml.add_bos_token"] in (False, 0)
    back = {ch: b for b, ch in byte_level_alphabet().items()}
    tokens = fields["tokenizer.ggml.tokens"]
    vocab = char_tok.hf.get_vocab(with_added_tokens=True)
    for i, token in enumerate(tokens):
        original = next(t for t, j in vocab.items() if j == i)
        if original == "<unk>":
            assert token == "<unk>" and fields["tokenizer.ggml.token_type"][i] == gguf.TokenType.UNKNOWN
        else:
            assert bytes(back[c] for c in token).decode() == original
    merges = fields["tokenizer.ggml.merges"]
    for ch in "éï—":  # every multi-byte character is reachable by joining its bytes left to right
        spelled = "".join(byte_level_alphabet()[b] for b in ch.encode())
        for end in range(2, len(spelled) + 1):
            assert f"{spelled[:end - 1]} {spelled[end - 1]}" in merges
    assert fields["tokenizer.ggml.unknown_token_id"] == char_tok.token_id("<unk>")


def test_a_bpe_vocabulary_and_its_merges_go_in_as_they_are(tmp_path):
    tok = train_tokenizer("bpe", lambda: TEXT * 20, vocab_size=300)
    fields, _ = read(export_gguf(model_for(tok, position="rope"), tok, tmp_path / "b.gguf", dtype="q8_0"))
    spec = json.loads(tok.to_str())
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]
    assert fields["tokenizer.ggml.merges"] == merges and len(merges) > 10
    vocab = tok.hf.get_vocab(with_added_tokens=True)
    assert fields["tokenizer.ggml.tokens"] == sorted(vocab, key=vocab.get)
    assert fields["tokenizer.ggml.eos_token_id"] == tok.token_id("<eos>")


def test_f16_and_q8_0_weights_read_back_close_to_the_models(tmp_path, char_tok):
    model = model_for(char_tok, position="rope", norm="rmsnorm", mlp="swiglu")
    weight = model.h[0].mlp.c_fc.weight.detach().numpy()
    for dtype, tol in (("f16", 1e-3), ("q8_0", 2e-2)):
        _, tensors = read(export_gguf(model, char_tok, tmp_path / f"{dtype}.gguf", dtype=dtype))
        t = tensors["blk.0.ffn_up.weight"]
        assert t.tensor_type == {"f16": gguf.GGMLQuantizationType.F16, "q8_0": gguf.GGMLQuantizationType.Q8_0}[dtype]
        back = gguf.quants.dequantize(t.data, t.tensor_type).reshape(weight.shape)
        assert np.abs(back - weight).max() < tol * np.abs(weight).max()
        assert tensors["blk.0.attn_norm.weight"].tensor_type == gguf.GGMLQuantizationType.F32


def test_what_gguf_cannot_hold_is_refused_in_words(tmp_path, char_tok):
    for kw, expect in ((dict(num_labels=2), "classifier"), (dict(arch="bert"), "encoder"),
                       (dict(position="sinusoidal"), "sinusoidal"), (dict(position="rope", norm="rmsnorm"),
                                                                     "no transformers family")):
        with pytest.raises(UserError, match=expect):
            export_gguf(model_for(char_tok, **kw), char_tok, tmp_path / "x.gguf")
    assert not list(tmp_path.iterdir())


def test_export_writes_gguf_from_the_command_line(tmp_path, tiny_text, capsys):
    from tests.conftest import tiny_config
    from tests.engine.train.test_training import train

    train(tiny_config(tiny_text, tmp_path, model={"position": "rope"}, train={"max_steps": 2}))
    assert main(["export", str(tmp_path / "run"), "--out", str(tmp_path / "baby.gguf"), "--type", "q8_0"]) == 0
    assert "as a GGUF file for llama.cpp (gptneox, Q8_0)" in capsys.readouterr().out
    fields, tensors = read(tmp_path / "baby.gguf")
    assert fields["general.architecture"] == "gptneox" and "blk.0.attn_qkv.weight" in tensors


@pytest.mark.slow
@pytest.mark.parametrize("arch", FAMILIES)
def test_llama_cpp_continues_a_trained_model_token_for_token_as_the_engine(tmp_path, tiny_text, arch):
    """Optional: llama-cpp-python builds llama.cpp from source (pip install llama-cpp-python, minutes), so
    the suite skips this where it is not installed."""
    llama_cpp = pytest.importorskip("llama_cpp")
    from engine.infer.generate import SamplingOptions, stream
    from engine.model.load import load_for_inference
    from tests.conftest import tiny_config
    from tests.engine.train.test_training import train

    model = dict(FAMILIES[arch]) | ({"mlp": "gelu_tanh"} if arch != "llama" else {})  # llama.cpp's GELU is tanh's
    train(tiny_config(tiny_text, tmp_path, model=model, train={"max_steps": 40, "eval_interval": 40}))
    ours, tok, _ = load_for_inference(tmp_path / "run")
    out = export_gguf(ours, tok, tmp_path / "m.gguf", dtype="f32")
    llm = llama_cpp.Llama(model_path=str(out), n_ctx=16, verbose=False)  # the context: prompt and 8 tokens fit
    for prompt in ("The q", "Pack"):
        ids = tok.encode(prompt)
        assert llm.tokenize(prompt.encode(), add_bos=False, special=False) == ids
        want = [t.id for t in stream(ours, ids, SamplingOptions(max_new_tokens=8, temperature=0))]
        llm.reset()
        got = []
        for t in llm.generate(ids, top_k=1, top_p=1.0, temp=0.0, repeat_penalty=1.0):
            got.append(t)
            if len(got) == len(want):
                break
        assert got == want, prompt
