"""An instruct run's export carries its chat template: transformers' `apply_chat_template` (and llama.cpp's, where
llama-cpp-python is installed) builds the same token ids as the engine for the same conversation."""

import pytest
import torch

from engine.data.chat_encode import encode_conversations, prompt_ids
from engine.data.chat_template import TEMPLATE, chat_template_of
from engine.data.pairs import seq2seq_specials
from engine.data.tokenizer import train_tokenizer
from engine.interop.gguf_export import export_gguf
from engine.interop.hf import export_model
from engine.model.build import build_model
from engine.model.gpt import GPTConfig

transformers = pytest.importorskip("transformers")

CHAT = [{"role": "system", "content": "You are the assistant of a small shop."},
        {"role": "user", "content": "How much is the lamp?"},
        {"role": "assistant", "content": "The lamp costs 12 euros."},
        {"role": "user", "content": "And what colour is it?"},
        {"role": "assistant", "content": "The lamp is blue."},
        {"role": "user", "content": "Do you have it in stock?"}]


def run_parts(kind: str):
    """A run's tokenizer (trained on rendered conversations, [PAD] and <eos> added) and a small decoder."""
    tok = train_tokenizer(kind, lambda: [TEMPLATE.render(CHAT[:5])] * 20, vocab_size=300)
    seq2seq_specials(tok)
    torch.manual_seed(0)
    model = build_model(GPTConfig(vocab_size=tok.vocab_size, block_size=128, n_layer=1, n_head=2, n_embd=32,
                                  position="rope"))
    return model.eval(), tok


def their_ids(tokenizer, messages, add_generation_prompt):
    out = tokenizer.apply_chat_template(messages, add_generation_prompt=add_generation_prompt, tokenize=True)
    return list(out["input_ids"] if hasattr(out, "keys") else out)


@pytest.mark.parametrize("kind", ["bpe", "char"])
def test_transformers_apply_chat_template_builds_the_engines_ids(tmp_path, kind):
    model, tok = run_parts(kind)
    out = export_model(model, tok, tmp_path / "hf", chat_template=chat_template_of("instruct"))
    theirs = transformers.AutoTokenizer.from_pretrained(out)
    assert theirs.chat_template == TEMPLATE.jinja()
    for end in (2, 4, 6):  # a prompt after one, two and three user turns
        assert their_ids(theirs, CHAT[:end], True) == prompt_ids(tok, [CHAT[:end]])[0]
    (whole,) = encode_conversations(tok, [CHAT[:5]])  # what training reads, markers and <eos> included
    assert their_ids(theirs, CHAT[:5], False) == whole.ids


def test_a_run_without_a_template_exports_none(tmp_path):
    model, tok = run_parts("bpe")
    out = export_model(model, tok, tmp_path / "hf", chat_template=chat_template_of("causal"))
    assert transformers.AutoTokenizer.from_pretrained(out).chat_template is None


def test_the_gguf_file_holds_the_template(tmp_path):
    gguf = pytest.importorskip("gguf")
    model, tok = run_parts("bpe")
    path = export_gguf(model, tok, tmp_path / "m.gguf", dtype="f32", chat_template=chat_template_of("instruct"))
    field = gguf.GGUFReader(str(path)).fields["tokenizer.chat_template"]
    assert bytes(field.parts[field.data[0]]).decode("utf-8") == TEMPLATE.jinja()


def test_llama_cpp_builds_the_engines_prompt_from_the_gguf_template(tmp_path):
    llama_cpp = pytest.importorskip("llama_cpp")
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    model, tok = run_parts("bpe")
    path = export_gguf(model, tok, tmp_path / "m.gguf", dtype="f32", chat_template=chat_template_of("instruct"))
    llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    template = llm.metadata["tokenizer.chat_template"]
    formatter = Jinja2ChatFormatter(template=template, eos_token="<eos>", bos_token="<eos>")
    for end in (2, 4, 6):
        prompt = formatter(messages=CHAT[:end]).prompt
        ids = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        assert ids == prompt_ids(tok, [CHAT[:end]])[0]
