import numpy as np

from engine.data.batches import WindowSampler, eval_starts


def test_windows_are_shifted_by_one_and_read_from_a_memmap(tmp_path):
    tokens = np.arange(1000, dtype=np.uint16)
    tokens.tofile(tmp_path / "t.bin")
    mm = np.memmap(tmp_path / "t.bin", dtype=np.uint16, mode="r")
    x, y = WindowSampler(mm, block_size=8, batch_size=4, seed=0).batch(step=3)
    assert x.shape == y.shape == (4, 8) and x.dtype == np.int64
    assert (y == x + 1).all()
    assert ((x[:, 1:] - x[:, :-1]) == 1).all()


def test_batches_are_a_pure_function_of_seed_and_step():
    tokens = np.arange(5000, dtype=np.uint16)
    a = WindowSampler(tokens, 16, 4, seed=7)
    b = WindowSampler(tokens, 16, 4, seed=7)
    assert (a.batch(11)[0] == b.batch(11)[0]).all()
    assert not (a.batch(11)[0] == a.batch(12)[0]).all()


def test_two_ranks_see_the_rows_of_one_process_with_twice_the_batch():
    tokens = np.arange(5000, dtype=np.uint16)
    single = WindowSampler(tokens, 16, 4, seed=3, grad_accum=2)
    rank0 = WindowSampler(tokens, 16, 4, seed=3, rank=0, world_size=2)
    rank1 = WindowSampler(tokens, 16, 4, seed=3, rank=1, world_size=2)
    both = np.concatenate([rank0.batch(5)[0], rank1.batch(5)[0]])
    micro = np.concatenate([single.batch(5, 0)[0], single.batch(5, 1)[0]])
    assert (both == micro).all()


def test_eval_windows_are_fixed():
    assert (eval_starts(1000, 8, 3, 4, seed=1) == eval_starts(1000, 8, 3, 4, seed=1)).all()
    assert eval_starts(1000, 8, 3, 4, seed=1).max() <= 1000 - 8
