"""Head scores, phase change, logit lens and ablation, each against a case whose answer is known."""

import math

import numpy as np
import pytest
import torch

from engine.model.gpt import GPT, GPTConfig
from engine.model.hooks import attention_patterns, hook_points
from engine.probes.ablation import ablate, rank_heads
from engine.probes.embeddings import align, nearest, pca_2d
from engine.probes.head_scores import head_roles, head_scores, probe_tokens, score_patterns
from engine.probes.icl import icl_positions
from engine.probes.logit_lens import logit_lens
from engine.probes.phase_change import find_phase_change

T = 16  # probe rows of 2 x 8 tokens


def pattern(keys_of) -> np.ndarray:
    """(1, 1, 1, T, T) attention weights: each query i puts all its weight on key keys_of(i)."""
    a = np.zeros((T, T))
    for i in range(T):
        a[i, keys_of(i)] = 1.0
    return a[None, None, None]


def test_a_previous_token_head_scores_one_on_previous_and_nothing_on_induction():
    s = score_patterns(pattern(lambda i: max(i - 1, 0)))
    assert s["previous"][0, 0] == pytest.approx(1.0)
    assert s["induction"][0, 0] == pytest.approx(0.0)
    assert s["duplicate"][0, 0] == pytest.approx(0.0)
    assert s["local"][0, 0] == pytest.approx(1.0)
    assert s["entropy"][0, 0] == pytest.approx(0.0)
    assert head_roles(s) == [["previous"]]


def test_an_induction_head_scores_one_on_induction_and_nothing_on_previous():
    L = T // 2
    s = score_patterns(pattern(lambda i: i - L + 1 if i >= L else i))  # second copy: the token after the first
    assert s["induction"][0, 0] == pytest.approx(1.0)
    assert s["previous"][0, 0] == pytest.approx(0.0)
    assert s["duplicate"][0, 0] == pytest.approx(0.0)
    assert head_roles(s) == [["induction"]]
    dup = score_patterns(pattern(lambda i: i - L if i >= L else i))
    assert dup["duplicate"][0, 0] == pytest.approx(1.0) and dup["induction"][0, 0] == pytest.approx(0.0)


def test_sink_and_uniform_heads():
    sink = score_patterns(pattern(lambda i: 0))
    assert sink["sink"][0, 0] == pytest.approx(1.0) and head_roles(sink) == [["sink"]]
    uniform = np.tril(np.ones((T, T)))
    uniform = (uniform / uniform.sum(-1, keepdims=True))[None, None, None]
    u = score_patterns(uniform)
    assert u["entropy"][0, 0] == pytest.approx(1.0)
    assert u["previous"][0, 0] == pytest.approx(np.mean([1 / (i + 1) for i in range(1, T // 2)]))
    assert head_roles(u) == [["broad"]]


def test_probe_rows_repeat_a_sequence_without_repeats_inside_it():
    rows = probe_tokens(np.arange(3, 60), block_size=64, rows=4, seed=1)
    assert rows.shape == (4, 64)
    assert (rows[:, :32] == rows[:, 32:]).all()
    assert all(len(set(r[:32])) == 32 for r in rows) and rows.min() >= 3


def test_the_phase_change_is_the_steepest_rise_of_the_top_induction_score():
    steps = [0, 100, 200, 300, 400, 500, 600]
    curve = [0.02, 0.03, 0.05, 0.35, 0.6, 0.65, 0.66]
    assert find_phase_change(steps, curve) == {"step": 300, "before": 0.05, "after": 0.35, "rate": pytest.approx(0.003)}
    assert find_phase_change(steps, [0.02, 0.03, 0.05, 0.08, 0.1, 0.12, 0.13]) is None  # a slow drift
    assert find_phase_change([0, 50, 300], [0.0, 0.2, 0.6])["step"] == 50  # per step, not per evaluation


def test_icl_positions_scale_with_the_context():
    early, late = icl_positions(512)
    assert (early.start, early.stop, late.start, late.stop) == (32, 64, 448, 512)
    for t in (2, 8, 64):
        e, l_ = icl_positions(t)
        assert len(range(t)[e]) >= 1 and len(range(t)[l_]) >= 1 and e.stop <= l_.start


# ----- a hand-built copier: head 0 of its one layer copies the previous token, head 1 does nothing ---
V, CTX = 4, 8


def copier() -> GPT:
    """Token one-hots in dims [0, V), position one-hots in [V, V + CTX), and head 0 writes the previous
    token's one-hot into [V + CTX, 2V + CTX), which the output head reads: on a text of period two
    (x[i+1] == x[i-1]) it predicts every token after the first."""
    C = 2 * V + CTX
    model = GPT(GPTConfig(vocab_size=V, block_size=CTX, n_layer=1, n_head=2, n_embd=C, norm="rmsnorm",
                          tie_weights=False))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        for n in (model.h[0].ln_1, model.h[0].ln_2, model.ln_f):
            n.weight.fill_(1.0)
        model.wte.weight[:, :V] = torch.eye(V)
        model.wpe.weight[:, V:V + CTX] = torch.eye(CTX)
        w = model.h[0].attn.c_attn.weight  # rows: q [0, C), k [C, 2C), v [2C, 3C); head 0 is the first C/2 of each
        for p in range(1, CTX):
            w[p - 1, V + p] = 5.0      # query at position p looks for position p - 1
        for p in range(CTX):
            w[C + p, V + p] = 1.0      # key: its position
        for t in range(V):
            w[2 * C + t, t] = 1.0      # value: its token
            model.h[0].attn.c_proj.weight[V + CTX + t, t] = 1.0
            model.lm_head.weight[t, V + CTX + t] = 1.0
    return model.eval()


class Chars:
    """A tokenizer of the letters a-d."""

    def encode(self, text):
        return ["abcd".index(c) for c in text]

    def token_strings(self, ids):
        return ["abcd"[i] for i in ids]

    def ordinary_ids(self):
        return np.arange(V)


def test_the_hand_built_copier_is_a_previous_token_head_and_needs_it():
    model = copier()
    scores = head_scores(model, np.arange(V), rows=4)
    assert scores["previous"][0][0] > 0.99 and scores["previous"][0][1] < 0.4  # head 1: uniform
    text = "abababab"
    zeroed = ablate(model, Chars(), text, [(0, 0)])
    assert (zeroed.base_probs[1:] > 0.9).all()  # it copies (the first token has nothing before it) ...
    assert zeroed.base_loss < 0.5 * math.log(V)
    assert zeroed.loss == pytest.approx(math.log(V), abs=1e-4)  # ... and without head 0 it knows nothing
    assert np.allclose(zeroed.probs, 1 / V)
    assert ablate(model, Chars(), text, [(0, 1)]).loss == pytest.approx(zeroed.base_loss, abs=1e-6)
    ranked = rank_heads(model, Chars(), text)
    assert ranked[0][:2] == (0, 0) and ranked[-1][2] == pytest.approx(0.0, abs=1e-6)


def test_the_last_layer_of_the_logit_lens_is_the_models_own_output():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=V, block_size=CTX, n_layer=3, n_head=2, n_embd=16)).eval()
    lens = logit_lens(model, Chars(), "abcdabca", k=V)
    assert lens.depths == ["embeddings", "layer 1", "layer 2", "layer 3"]
    probs = torch.softmax(model(torch.tensor([Chars().encode("abcdabca")]))[0][0], -1).detach().numpy()
    order = np.argsort(-probs, axis=-1)
    assert (lens.top_ids[-1] == order).all()
    assert np.allclose(lens.top_probs[-1], np.take_along_axis(probs, order, -1), atol=1e-6)
    assert np.allclose(lens.target_probs[-1], probs[np.arange(7), Chars().encode("abcdabca")[1:]], atol=1e-6)


def test_hook_points_are_named_and_reading_patterns_leaves_the_output_alone():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=V, block_size=CTX, n_layer=2, n_head=2, n_embd=16)).eval()
    assert {"hook_embed", "h.0.attn.hook_pattern", "h.0.attn.hook_z", "h.1.hook_resid_post"} <= set(hook_points(model))
    idx = torch.tensor([[0, 1, 2, 3, 0, 1]])
    logits, maps = attention_patterns(model, idx)
    assert torch.allclose(logits, model(idx)[0], atol=1e-5) and len(maps) == 2
    assert not any(p.active for p in hook_points(model).values())  # every hook came off


def test_the_embedding_map_aligns_and_finds_neighbours():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 8)) * np.array([5, 3, 1, 1, 1, 1, 1, 1])
    pts = pca_2d(x)
    assert pts.shape == (30, 2) and pts[:, 0].var() > pts[:, 1].var()
    flipped = pts * np.array([-1, 1], dtype=np.float32)
    assert np.allclose(align(flipped, pts), pts, atol=1e-5)
    x[7] = x[3] * 2.0  # the same direction
    assert nearest(x, 3, k=1)[0][0] == 7
