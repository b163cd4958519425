"""Masked-LM data: BERT's selection statistics, whole words, and next-sentence pairs."""

import numpy as np

from engine.data.masked import IGNORE, MaskedSampler, SpecialIds, mask_row, word_ids
from engine.data.tokenizer import train_tokenizer
from tests.conftest import PANGRAMS

SP = SpecialIds(pad=0, cls=1, sep=2, mask=3, n_regular=1000)


def test_selection_is_15_percent_and_replacement_is_80_10_10():
    rng = np.random.default_rng(0)
    chosen = masked = randomized = kept = candidates = 0
    for _ in range(400):
        row = np.concatenate([[SP.cls], rng.integers(10, 1000, size=126), [SP.sep]])
        inputs, targets = mask_row(row, rng, SP, 0.15)
        sel = targets != IGNORE
        assert (targets[sel] == row[sel]).all(), "targets are the original tokens"
        assert not sel[0] and not sel[-1], "[CLS] and [SEP] are never chosen"
        assert (inputs[~sel] == row[~sel]).all(), "unchosen tokens are untouched"
        candidates += 126
        chosen += sel.sum()
        masked += (inputs[sel] == SP.mask).sum()
        same = inputs[sel] == row[sel]
        kept += same.sum()
        randomized += (~same & (inputs[sel] != SP.mask)).sum()
        assert not np.isin(inputs[sel & (inputs != SP.mask)], [SP.pad, SP.cls, SP.sep]).any()
    assert abs(chosen / candidates - 0.15) < 0.005
    assert abs(masked / chosen - 0.8) < 0.02
    assert abs(randomized / chosen - 0.1) < 0.02
    assert abs(kept / chosen - 0.1) < 0.02


def test_whole_word_masking_masks_every_piece_of_a_chosen_word():
    tok = train_tokenizer("wordpiece", lambda: PANGRAMS * 20, vocab_size=120)
    continues = np.array([tok.hf.id_to_token(i).startswith("##") for i in range(tok.vocab_size)])
    ids = np.array(tok.encode(" ".join(PANGRAMS)), dtype=np.int64)
    assert continues[ids].any(), "the small vocabulary splits some words into pieces"
    words = word_ids(ids, continues, None)
    sp = SpecialIds(pad=tok.token_id("[PAD]"), cls=tok.token_id("[CLS]"), sep=tok.token_id("[SEP]"),
                    mask=tok.token_id("[MASK]"), n_regular=tok.vocab_size)
    rng = np.random.default_rng(1)
    for _ in range(50):
        _, targets = mask_row(ids, rng, sp, 0.15, words)
        sel = targets != IGNORE
        for w in np.unique(words[sel]):
            assert sel[words == w].all(), "a chosen word is masked whole"


def test_character_words_are_runs_between_spaces():
    space = 0
    row = np.array([5, 6, space, 7, space, 8, 9, 10])
    assert word_ids(row, None, np.array([space])).tolist() == [0, 0, 1, 2, 3, 4, 4, 4]


def test_sentence_pairs_follow_or_come_from_another_document():
    docs = [np.arange(1000, 1000 + n) + 2000 * d for d, n in enumerate([300, 250, 400, 350])]
    tokens = np.concatenate(docs)
    starts = np.cumsum([0] + [len(d) for d in docs[:-1]])
    sampler = MaskedSampler(tokens, starts, 32, 64, specials=SpecialIds(0, 1, 2, 3, 10_000), seed=3, nsp=True,
                            prob=0.15)
    batch = sampler.batch(0)
    labels = batch["nsp_labels"]
    assert 0.3 < labels.mean() < 0.7
    seen = {0: 0, 1: 0}
    for row, types, label in zip(batch["idx"], batch["token_types"], labels):
        seps = np.flatnonzero(row == 2)
        assert row[0] == 1 and len(seps) == 2 and seps[1] == 31, "[CLS] A [SEP] B [SEP]"
        assert (types[: seps[0] + 1] == 0).all() and (types[seps[0] + 1:] == 1).all()
        seen[int(label)] += 1
    # the original tokens: targets hold them where the inputs were masked
    full = np.where(batch["targets"] != IGNORE, batch["targets"], batch["idx"])
    for row, label in zip(full, labels):
        seps = np.flatnonzero(row == 2)
        a, b = row[1: seps[0]], row[seps[0] + 1: seps[1]]
        doc_a, doc_b = a[-1] // 2000, b[0] // 2000
        if label == 0:
            assert b[0] == a[-1] + 1, "B continues A"
        else:
            assert doc_a != doc_b, "B comes from another document"
    assert seen[0] and seen[1]


def test_masked_batches_are_a_function_of_seed_and_step():
    tokens = np.arange(10, 5000)
    make = lambda: MaskedSampler(tokens, np.array([0]), 16, 4, specials=SP, seed=9)  # noqa: E731
    a, b = make().batch(7), make().batch(7)
    assert all((a[k] == b[k]).all() for k in a)
    assert not (make().batch(8)["idx"] == a["idx"]).all()
