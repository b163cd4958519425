"""A run repeats from its seed: the same config trained twice, each with its own cache (the tokenizer trained again),
takes the same steps, loss for loss; another seed takes others. (WordPiece and Unigram vocabularies are the
exception: the `tokenizers` library orders their equal-count pieces differently from run to run, its issue #1794,
and README says so.)"""

from tests.conftest import tiny_config
from tests.helpers import step_losses, train

SHORT = {"max_steps": 8, "eval_interval": 8}


def trained(tiny_text, folder, seed):
    cfg = tiny_config(tiny_text, folder, tokenizer={"kind": "bpe", "vocab_size": 300}, train=SHORT | {"seed": seed})
    train(cfg)
    return step_losses(folder / "run")


def test_the_same_config_and_seed_train_the_same_steps(tmp_path, tiny_text):
    first, second = trained(tiny_text, tmp_path / "first", 7), trained(tiny_text, tmp_path / "second", 7)
    assert len(first) == 8 and first == second
    assert trained(tiny_text, tmp_path / "other", 8) != first
