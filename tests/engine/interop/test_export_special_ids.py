"""An exported model names its tokenizer's own start, end and padding tokens, so transformers' greedy
`generate` stops where the engine stops, for every family that generates and every objective that
exports. The tokenizers are byte-level BPE, whose <eos> is id 0 (an id that `eos or 1` once replaced)."""

import json
import logging
import warnings

import pytest
import torch

from engine.config.schema import ModelConfig
from engine.data.pairs import PROMPT_TEMPLATE, seq2seq_specials
from engine.data.tokenizer import train_tokenizer
from engine.infer.generate import SamplingOptions, greedy_continuations
from engine.infer.respond import stream_response
from engine.interop.gguf_export import export_gguf
from engine.interop.hf import export_model
from engine.model.build import build_model, gpt_config
from engine.model.gpt import GPTConfig

transformers = pytest.importorskip("transformers")

PAIRS = [("the cat", "says meow"), ("the dog", "says woof")]
CORPUS = [PROMPT_TEMPLATE.format(source=s) + t for s, t in PAIRS] * 20
FAMILIES = {"gpt2": dict(), "gpt_neox": dict(position="rope"),
            "llama": dict(position="rope", norm="rmsnorm", mlp="swiglu")}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train far faster on one thread than on a shared machine's every core."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def bpe(*, pairs: bool):
    """A run's tokenizer: <eos> first (id 0); a pairs run adds [PAD] as training does."""
    tok = train_tokenizer("bpe", lambda: CORPUS, vocab_size=300)
    if pairs:
        seq2seq_specials(tok)
    assert tok.token_id("<eos>") == 0
    return tok


def decoder(tok, **kw) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(GPTConfig(vocab_size=tok.vocab_size, block_size=64, n_layer=1, n_head=2, n_embd=32,
                                 dropout=0.0, **kw))


def teach(model, loss_of, steps: int = 300):
    """Fit the two examples (well under a second): the model then ends each answer with <eos>."""
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        sum(loss_of(model, i) for i in range(len(PAIRS))).backward()
        opt.step()
    return model.eval()


def quietly(fn):
    """fn()'s result, and every warning transformers gave meanwhile (logged or warned)."""
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = logging.getLogger("transformers")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = fn()
    finally:
        logger.removeHandler(handler)
    return out, [r.getMessage() for r in records] + [str(w.message) for w in caught]


def assert_specials(folder, tok, *, expect: dict):
    """config.json, generation_config.json and the tokenizer files name the tokenizer's tokens."""
    config = json.loads((folder / "config.json").read_text())
    assert "max_length" not in config
    assert {k: config.get(k) for k in expect} == expect
    tokens = json.loads((folder / "tokenizer_config.json").read_text())
    for key, i in expect.items():
        name = key.replace("_token_id", "_token")
        if i is not None and name in ("bos_token", "eos_token", "pad_token"):
            assert tok.token_id(tokens[name]) == i
    return config


def their_tokens(folder, prompt: str, seq2seq: bool = False) -> tuple[list[int], list[int], list[str]]:
    """transformers' own path: the folder's tokenizer, then greedy `generate` with its KV cache."""
    hf_tok = transformers.AutoTokenizer.from_pretrained(folder)
    family = transformers.AutoModelForSeq2SeqLM if seq2seq else transformers.AutoModelForCausalLM
    hf = family.from_pretrained(folder).eval()
    inputs = hf_tok(prompt, return_tensors="pt")
    with torch.no_grad():
        out, said = quietly(lambda: hf.generate(**inputs, max_new_tokens=24, do_sample=False, use_cache=True))
    n = 0 if seq2seq else inputs["input_ids"].size(1)
    return inputs["input_ids"][0].tolist(), out[0, n:].tolist(), said


@pytest.mark.parametrize("family", FAMILIES)
def test_a_causal_export_stops_at_eos_in_transformers_as_in_the_engine(tmp_path, family):
    tok = bpe(pairs=False)
    eos = tok.token_id("<eos>")
    texts = [(tok.encode(s + " " + t[:4]), tok.encode(t[4:])) for s, t in PAIRS]  # "the cat says" -> " meow"

    def loss(model, i):
        ids = torch.tensor([[*texts[i][0], *texts[i][1], eos]])
        return model(ids[:, :-1], ids[:, 1:])[1]

    model = teach(decoder(tok, **FAMILIES[family]), loss)
    out = export_model(model, tok, tmp_path / family)
    assert_specials(out, tok, expect={"bos_token_id": eos, "eos_token_id": eos, "pad_token_id": None})
    assert json.loads((out / "generation_config.json").read_text()) == {"bos_token_id": eos, "eos_token_id": eos,
                                                                         "pad_token_id": eos}
    for prompt, answer in texts:
        ours = greedy_continuations(model, [prompt], eos=eos)[0]
        assert ours == answer  # the engine stopped at <eos>, right after the answer
        fed, theirs, said = their_tokens(out, tok.decode(prompt))
        assert fed == prompt  # no start token added, as the engine adds none
        assert theirs == [*ours, eos], family
        assert not said


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_an_instruct_export_stops_at_eos_in_transformers_as_in_the_engine(tmp_path, family):
    tok = bpe(pairs=True)
    eos, pad = tok.token_id("<eos>"), tok.token_id("[PAD]")
    texts = [(tok.encode(PROMPT_TEMPLATE.format(source=s)), tok.encode(t)) for s, t in PAIRS]

    def loss(model, i):
        ids = torch.tensor([[*texts[i][0], *texts[i][1], eos]])
        return model(ids[:, :-1], ids[:, 1:])[1]

    model = teach(decoder(tok, **FAMILIES[family]), loss)
    out = export_model(model, tok, tmp_path / family)
    assert_specials(out, tok, expect={"bos_token_id": eos, "eos_token_id": eos, "pad_token_id": pad})
    for (source, target), (prompt, answer) in zip(PAIRS, texts):
        ours = [t.id for t in stream_response(model, tok, source, SamplingOptions(temperature=0, max_new_tokens=24))]
        assert ours == answer
        fed, theirs, said = their_tokens(out, PROMPT_TEMPLATE.format(source=source))
        assert fed == prompt
        assert theirs == [*ours, eos]
        assert not said


def test_a_seq2seq_export_stops_at_eos_in_transformers_as_in_the_engine(tmp_path):
    tok = bpe(pairs=True)
    eos, pad = tok.token_id("<eos>"), tok.token_id("[PAD]")
    torch.manual_seed(0)
    model = build_model(gpt_config(ModelConfig(n_layer=1, n_head=2, n_embd=32, block_size=32, dropout=0.0),
                                   tok.vocab_size, arch="t5"))
    texts = [(tok.encode(s), tok.encode(t)) for s, t in PAIRS]

    def loss(model, i):
        src, tgt = texts[i]
        return model(torch.tensor([[*src, eos]]), torch.tensor([[pad, *tgt]]), torch.tensor([[*tgt, eos]]))[1]

    teach(model, loss)
    out = export_model(model, tok, tmp_path / "t5")
    assert_specials(out, tok, expect={"eos_token_id": eos, "pad_token_id": pad, "decoder_start_token_id": pad})
    for (source, _), (src, answer) in zip(PAIRS, texts):
        ours = [t.id for t in stream_response(model, tok, source, SamplingOptions(temperature=0, max_new_tokens=24))]
        assert ours == answer
        fed, theirs, said = their_tokens(out, source, seq2seq=True)
        assert fed == [*src, eos]  # the source ends with <eos>, as the engine feeds it
        assert theirs == [pad, *ours, eos]
        assert not said


def test_an_encoder_names_the_tokenizers_padding_and_writes_no_generation_config(tmp_path):
    tok = bpe(pairs=True)
    encoder = build_model(GPTConfig(vocab_size=tok.vocab_size, block_size=32, n_layer=1, n_head=2, n_embd=32,
                                    arch="bert"))
    out = export_model(encoder, tok, tmp_path / "bert")
    assert_specials(out, tok, expect={"pad_token_id": tok.token_id("[PAD]")})
    assert not (out / "generation_config.json").exists()


def test_a_gguf_file_names_the_same_ids_as_config_json(tmp_path):
    gguf = pytest.importorskip("gguf")
    tok = bpe(pairs=True)
    eos, pad = tok.token_id("<eos>"), tok.token_id("[PAD]")
    reader = gguf.GGUFReader(str(export_gguf(decoder(tok, position="rope"), tok, tmp_path / "m.gguf")))
    ids = [int(reader.fields[f"tokenizer.ggml.{key}_token_id"].parts[-1][0]) for key in ("bos", "eos", "padding")]
    assert ids == [eos, eos, pad]
