"""The memory a stretch of training took, as the run's `finished` event and the calibration report it."""

import sys

import pytest
import torch

from engine.runtime.peak_memory import PeakMemory

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self")


@linux
def test_the_peak_counts_what_was_allocated_since_the_start_and_not_before():
    held = torch.ones(64 << 20, dtype=torch.uint8)  # 64 MiB touched before the start: not counted
    memory = PeakMemory(torch.device("cpu"))
    memory.start()
    big = torch.ones(256 << 20, dtype=torch.uint8)  # 256 MiB written, then freed: the peak keeps it
    del big
    peak = memory.peak()
    assert 250 << 20 <= peak < 300 << 20, peak
    memory.start()  # a new stretch: the earlier peak is forgotten
    assert memory.peak() < 32 << 20
    del held


def test_a_device_without_a_reading_says_none():
    assert PeakMemory(torch.device("meta")).peak() is None


@pytest.mark.slow  # several seconds of training; ./dev test --quick leaves it out
@linux
def test_calibration_measures_the_memory_a_shape_takes():
    from engine.config import schema as C
    from engine.plan.estimate import estimate
    from engine.train.calibrate import measure_apart

    cfg = C.RunConfig()
    cfg.model.n_layer, cfg.model.n_head, cfg.model.n_embd, cfg.model.block_size = 1, 2, 32, 32
    cfg.train.batch_size = 4
    small = measure_apart(cfg, 65)  # each in a new process, as a training process starts
    cfg.model.vocab_size = 65
    cfg.train.batch_size = 256  # 256 x 32 positions of 65-way logits and their gradient, among the rest
    large = measure_apart(cfg, 65)
    assert 0 < small["memory_bytes"] < large["memory_bytes"]
    assert large["memory_bytes"] - small["memory_bytes"] >= 252 * 32 * 65 * 4 * 2
    assert estimate(cfg, vocab_size=65, measured=large).memory_bytes == large["memory_bytes"]
