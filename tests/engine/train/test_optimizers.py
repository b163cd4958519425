"""The subject's optimizers beside AdamW: LAMB's step checked against one computed by hand, and each of
Adam, LAMB and Adafactor training a small model and resuming exactly from its checkpointed state."""


import numpy as np
import pytest

from tests.conftest import tiny_config
from tests.helpers import step_losses, train


@pytest.mark.parametrize("name", ["adam", "lamb", "adafactor", "muon"])
def test_each_optimizer_trains_and_resumes_exactly(tmp_path, tiny_text, name):
    # LAMB moves each tensor by lr x its own norm
    lr = {"adam": 1e-2, "lamb": 5e-2, "adafactor": 5e-2, "muon": 1e-2}[name]
    extra = {"optimizer": name, "max_steps": 30, "eval_interval": 10, "checkpoint_interval": 10, "lr": lr,
             "min_lr": lr / 10}
    whole = tiny_config(tiny_text, tmp_path / "a", train=extra | {"out_dir": str(tmp_path / "whole")})
    train(whole)
    losses = step_losses(tmp_path / "whole")
    assert np.mean([losses[s] for s in range(26, 31)]) < np.mean([losses[s] for s in range(1, 6)]) - 0.3
    part = tiny_config(tiny_text, tmp_path / "b", train=extra | {"out_dir": str(tmp_path / "part")})
    train(part, stop_at=13)
    train(part, resume=True)
    resumed = step_losses(tmp_path / "part")
    assert [resumed[s] for s in range(11, 31)] == pytest.approx([losses[s] for s in range(11, 31)], abs=1e-6)


