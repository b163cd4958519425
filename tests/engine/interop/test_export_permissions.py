"""Exported models are readable by everyone the umask allows, as any new file is: 0644 files and 0755 folders
under umask 022 (safetensors alone would write its weights 0600), 0640/0750 under 027."""

import os
import stat

import pytest
import torch

from engine.data.tokenizer import train_tokenizer
from engine.interop.gguf_export import export_gguf
from engine.interop.hf import export_model
from engine.model.build import build_model
from engine.model.gpt import GPTConfig
from tests.conftest import PANGRAMS


@pytest.fixture(scope="module")
def model_and_tokenizer():
    tok = train_tokenizer("char", lambda: PANGRAMS)
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=tok.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16)
    return build_model(cfg).eval(), tok


@pytest.fixture
def umask():
    """Set the process's umask for one test, and put the old one back after."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask, file_mode, folder_mode", [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)])
def test_an_exported_folder_and_its_files_get_the_modes_of_new_files(tmp_path, model_and_tokenizer, umask, mask,
                                                                      file_mode, folder_mode):
    umask(mask)
    out = export_model(*model_and_tokenizer, tmp_path / "my-model-hf")
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"model.safetensors", "config.json", "tokenizer.json"}
    assert mode(out) == folder_mode
    assert {p.name: oct(mode(p)) for p in files} == {p.name: oct(file_mode) for p in files}


@pytest.mark.parametrize("dtype", ["f16", "q8_0"])
def test_a_gguf_file_is_0644_under_umask_022(tmp_path, model_and_tokenizer, umask, dtype):
    pytest.importorskip("gguf")
    umask(0o022)
    out = export_gguf(*model_and_tokenizer, tmp_path / f"my-model-{dtype}.gguf", dtype=dtype)
    assert oct(mode(out)) == oct(0o644)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")], "no temporary file is left"
