"""The encoder-decoder: T5's layout weight for weight (export and import give transformers' logits),
its named hook points, and generation that stops at <eos>."""

import pytest
import torch

from engine.config.schema import ModelConfig
from engine.data.pairs import seq2seq_specials
from engine.data.tokenizer import train_tokenizer
from engine.infer.generate import SamplingOptions
from engine.infer.seq2seq_generate import beam_target, greedy_batch, stream_target
from engine.interop.hf import export_model, import_model
from engine.model.build import build_model, gpt_config
from engine.model.hooks import hook_points, hooked
from engine.model.seq2seq import Seq2Seq, relative_buckets

transformers = pytest.importorskip("transformers")


def small_model(vocab: int, *, tie: bool, seed: int = 0) -> Seq2Seq:
    cfg = gpt_config(ModelConfig(n_layer=2, n_encoder_layer=3, n_head=4, n_embd=32, block_size=32,
                                 tie_weights=tie), vocab, arch="t5")
    torch.manual_seed(seed)
    model = build_model(cfg).eval()
    with torch.no_grad():  # weights well away from their init, so a misplaced one shows
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    return model


def tokenizer():
    tok = train_tokenizer("char", lambda: ["the quick brown fox jumps over the lazy dog"])
    seq2seq_specials(tok)
    return tok


def batch():
    g = torch.Generator().manual_seed(1)
    src, tgt = torch.randint(0, 25, (2, 11), generator=g), torch.randint(0, 25, (2, 7), generator=g)
    return src, tgt, torch.tensor([11, 6])


@pytest.mark.parametrize("tie", [False, True])
def test_export_gives_transformers_the_same_logits(tmp_path, tie):
    tok = tokenizer()
    model = small_model(tok.vocab_size, tie=tie)
    src, tgt, lengths = batch()
    ours = model(src, tgt, src_lengths=lengths)[0]
    hf = transformers.T5ForConditionalGeneration.from_pretrained(export_model(model, tok, tmp_path / "t5")).eval()
    mask = (torch.arange(src.size(1))[None] < lengths[:, None]).long()
    theirs = hf(input_ids=src, attention_mask=mask, decoder_input_ids=tgt).logits
    assert torch.allclose(ours, theirs, atol=1e-4)
    assert hf.config.decoder_start_token_id == tok.token_id("[PAD]")
    # a transformers pipeline's tokenizer ends the source with <eos>, as the engine feeds it
    hf_tok = transformers.AutoTokenizer.from_pretrained(tmp_path / "t5")
    assert hf_tok("the fox").input_ids[-1] == tok.token_id("<eos>")


def test_a_folder_saved_by_transformers_imports_with_its_logits(tmp_path):
    config = transformers.T5Config(vocab_size=40, d_model=32, d_kv=8, d_ff=48, num_layers=2, num_decoder_layers=3,
                                   num_heads=4, relative_attention_num_buckets=8, relative_attention_max_distance=20,
                                   feed_forward_proj="gated-gelu", tie_word_embeddings=False, dropout_rate=0.0,
                                   decoder_start_token_id=0)
    torch.manual_seed(3)
    hf = transformers.T5ForConditionalGeneration(config).eval()
    hf.save_pretrained(tmp_path / "theirs")
    tok = tokenizer()
    tok.hf.save(str(tmp_path / "theirs" / "tokenizer.json"))
    cfg, tensors, _ = import_model(tmp_path / "theirs")
    ours = build_model(cfg).eval()
    missing = ours.load_state_dict(tensors, strict=False).missing_keys
    assert missing == ([] if not cfg.tie_weights else ["lm_head.weight"])  # a tied head is the embedding
    src, tgt, lengths = batch()
    mask = (torch.arange(src.size(1))[None] < lengths[:, None]).long()
    theirs = hf(input_ids=src, attention_mask=mask, decoder_input_ids=tgt).logits
    assert torch.allclose(ours(src, tgt, src_lengths=lengths)[0], theirs, atol=1e-4)


def test_relative_buckets_are_t5s():
    from transformers.models.t5.modeling_t5 import T5Attention

    for bidirectional in (True, False):
        distance = torch.arange(40)[None, :] - torch.arange(30)[:, None]
        theirs = T5Attention._relative_position_bucket(distance, bidirectional=bidirectional, num_buckets=32,
                                                       max_distance=128)
        ours = relative_buckets(30, 40, bidirectional=bidirectional, n_buckets=32, max_distance=128)
        assert torch.equal(ours, theirs)


def test_cross_attention_is_a_named_hook_point_of_target_by_source():
    model = small_model(30, tie=True)
    names = hook_points(model)
    assert {"encoder.h.2.attn.hook_pattern", "decoder.h.1.attn.hook_pattern",
            "decoder.h.1.cross_attn.hook_pattern"} <= set(names)
    seen = {}
    src, tgt, lengths = batch()
    with hooked(model, {"decoder.h.1.cross_attn.hook_pattern": lambda w: seen.setdefault("w", w)}):
        logits = model(src, tgt, src_lengths=lengths)[0]
    assert seen["w"].shape == (2, 4, 7, 11)
    assert torch.allclose(seen["w"][1, :, :, 6:], torch.zeros(1))  # padding is never attended to
    assert torch.allclose(seen["w"].sum(-1), torch.ones(1))
    assert torch.allclose(logits, model(src, tgt, src_lengths=lengths)[0], atol=1e-5)  # the explicit path agrees


def test_generation_ends_at_eos_and_greedy_ways_agree():
    model = small_model(30, tie=True, seed=4)
    eos = 29
    with torch.no_grad():  # make <eos> likely after a few tokens
        model.lm_head.weight[eos] *= 0.0
    src = [3, 4, 5, 6]
    greedy = greedy_batch(model, torch.tensor([src + [eos]]), torch.tensor([5]), max_len=12, start=0, eos=eos)[0]
    streamed = [t.id for t in stream_target(model, src, SamplingOptions(max_new_tokens=12, temperature=0), start=0,
                                            eos=eos)]
    assert streamed == greedy and eos not in greedy
    assert len(beam_target(model, src, start=0, eos=eos, beams=1, max_new_tokens=12)) <= 12


def test_label_smoothing_spreads_the_targets_probability():
    from torch.nn import functional as F

    model = small_model(30, tie=False)
    src, tgt, lengths = batch()
    targets = tgt.clone()
    targets[1, 5:] = -100  # padding carries no loss
    logits, plain = model(src, tgt, targets, src_lengths=lengths)
    model.label_smoothing = 0.1  # what task.label_smoothing sets
    _, smoothed = model(src, tgt, targets, src_lengths=lengths)
    want = F.cross_entropy(logits.flatten(0, 1), targets.reshape(-1), ignore_index=-100, label_smoothing=0.1)
    assert torch.isclose(smoothed, want) and not torch.isclose(smoothed, plain)
