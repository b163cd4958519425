"""The TopK SAE with planted truth: activations made of sparse combinations of known directions, which it must
recover; saved in SAELens' layout and read back (by SAELens too, where it is installed) to the same
reconstruction; and the timeline's events on decoders built by hand."""

import json

import pytest
import torch

from engine.probes.feature_timeline import transitions
from engine.probes.sae import keep_top, train_sae
from engine.probes.sae_files import CFG_FILE, WEIGHTS_FILE, load_sae, save_sae


def planted(n: int = 8192, d: int = 32, directions: int = 16, on: int = 3, seed: int = 1):
    """(activations (n, d), the planted unit directions (directions, d)): each row `on` directions at random
    strengths 1-3, a shared offset, and a little noise."""
    g = torch.Generator().manual_seed(seed)
    dirs = torch.randn(directions, d, generator=g)
    dirs /= dirs.norm(dim=1, keepdim=True)
    codes = torch.zeros(n, directions)
    chosen = torch.rand(n, directions, generator=g).argsort(dim=1)[:, :on]
    codes.scatter_(1, chosen, 1 + 2 * torch.rand(n, on, generator=g))
    return codes @ dirs + 3.0 + 0.05 * torch.randn(n, d, generator=g), dirs


def test_the_sae_recovers_every_planted_direction():
    acts, dirs = planted()
    fit = train_sae(acts, d_sae=32, k=3, steps=400)
    best = (dirs @ fit.sae.W_dec.detach().T).max(dim=1).values
    assert best.min() > 0.9, best
    assert fit.explained > 0.9
    assert torch.allclose(fit.sae.W_dec.norm(dim=1), torch.ones(32), atol=1e-5)  # unit-norm decoder rows
    f = fit.sae.encode(acts[:100])
    assert int((f > 0).sum(dim=1).max()) <= 3 and float(f.min()) >= 0  # ReLU and TopK: at most k on, none negative


def test_an_sae_continued_on_the_same_activations_keeps_every_planted_feature():
    acts, dirs = planted()
    first = train_sae(acts, d_sae=32, k=3, steps=400)
    again = train_sae(acts, d_sae=32, k=3, steps=100, lr=5e-4, start=first.sae)
    events = transitions(first.sae.W_dec, again.sae.W_dec, first.density > 0, again.density > 0)
    kept = {(i, j) for i, j, _ in events["continued"]}
    for d in dirs:  # the feature that is each planted direction continues as the one that is it again
        assert (int((first.sae.W_dec @ d).argmax()), int((again.sae.W_dec @ d).argmax())) in kept


def test_keep_top_keeps_the_k_largest_of_each_row():
    x = torch.tensor([[0.1, 3.0, 2.0, 0.5], [4.0, 0.0, 1.0, 2.0]])
    assert keep_top(x, 2).tolist() == [[0.0, 3.0, 2.0, 0.0], [4.0, 0.0, 0.0, 2.0]]


def test_the_saved_sae_loads_back_to_the_same_reconstruction(tmp_path):
    acts, _ = planted(n=512)
    sae = train_sae(acts, d_sae=24, k=4, steps=20).sae
    folder = save_sae(tmp_path / "sae", sae, hook_name="h.1.hook_resid_post", layer=1, model_name="tiny",
                      context_size=16, dataset="tiny validation split")
    assert sorted(p.name for p in folder.iterdir()) == [CFG_FILE, WEIGHTS_FILE]
    cfg = json.loads((folder / CFG_FILE).read_text())
    assert (cfg["architecture"], cfg["d_in"], cfg["d_sae"], cfg["k"], cfg["hook_name"]) == \
        ("topk", 32, 24, 4, "h.1.hook_resid_post")
    assert cfg["activation_fn_kwargs"] == {"k": 4} and cfg["apply_b_dec_to_input"] is True
    again = load_sae(folder)
    assert torch.equal(again(acts), sae(acts).detach())


def test_sae_lens_loads_the_folder_and_reconstructs_the_same(tmp_path):
    sae_lens = pytest.importorskip("sae_lens")
    acts, _ = planted(n=256)
    sae = train_sae(acts, d_sae=24, k=4, steps=20).sae
    save_sae(tmp_path / "sae", sae, hook_name="h.0.hook_resid_post", layer=0, model_name="tiny", context_size=16,
             dataset="tiny")
    theirs = sae_lens.SAE.load_from_disk(str(tmp_path / "sae"), device="cpu")
    assert type(theirs).__name__.startswith("TopK")
    with torch.no_grad():
        assert torch.allclose(theirs(acts), sae(acts), atol=1e-5)
        assert torch.allclose(theirs.encode(acts), sae.encode(acts), atol=1e-5)


def unit(*parts):
    v = torch.zeros(8)
    for i, w in parts:
        v[i] = w
    return v / v.norm()


def test_the_timeline_names_features_kept_born_split_merged_and_died():
    before = torch.stack([unit((0, 1)), unit((1, 1)), unit((2, 1)), unit((3, 1)), unit((4, 1)), unit((6, 1))])
    after = torch.stack([unit((0, 1)),                  # 0 kept
                         unit((1, 1), (5, 0.5)),        # 1 split into two
                         unit((1, 1), (5, -0.5)),
                         unit((2, 1), (3, 1)),          # 2 and 3 merged into one
                         unit((7, 1)),                  # born
                         unit((6, 1))])                 # dead in this SAE: 5 is not followed, it died
    live_after = torch.tensor([True, True, True, True, True, False])
    events = transitions(before, after, torch.ones(6, dtype=torch.bool), live_after, match=0.7)
    assert [e[:2] for e in events["continued"]] == [[0, 0]]
    assert events["split"] == [{"from": [1], "into": [1, 2]}]
    assert events["merged"] == [{"from": [2, 3], "into": [3]}]
    assert events["born"] == [4]
    assert events["died"] == [4, 5]
    assert events["regrouped"] == []
