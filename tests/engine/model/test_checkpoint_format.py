"""Safetensors files are recognised by their structure, whatever byte their header length starts with;
pickles and zips (torch.save's formats) are refused and never unpickled."""

import json
import os
import pickle

import pytest
import torch
from safetensors.torch import save_file

from engine.core.errors import UserError
from engine.model.checkpoint import file_kind, load_tensors


def write_safetensors(path, header_length: int) -> torch.Tensor:
    """A valid file holding one tensor whose JSON header is exactly `header_length` bytes (space-padded)."""
    values = torch.arange(6, dtype=torch.float32)
    header = json.dumps({"w": {"dtype": "F32", "shape": [6], "data_offsets": [0, 24]}}).encode()
    assert header_length >= len(header)
    header += b" " * (header_length - len(header))
    path.write_bytes(header_length.to_bytes(8, "little") + header + values.numpy().tobytes())
    return values


@pytest.mark.parametrize("residue", range(256))
def test_every_header_length_residue_loads(tmp_path, residue):
    length = 256 * 6 + residue  # 1536..1791: a first byte of 0x80 (residue 128) is the case that was refused
    values = write_safetensors(tmp_path / "model.safetensors", length)
    assert file_kind(tmp_path / "model.safetensors") == "safetensors"
    assert torch.equal(load_tensors(tmp_path / "model.safetensors")["w"], values)


def test_a_header_length_of_pk_loads(tmp_path):
    length = int.from_bytes(b"PK", "little")  # 19280 bytes: the file starts with "PK" like a zip
    values = write_safetensors(tmp_path / "model.safetensors", length)
    assert (tmp_path / "model.safetensors").read_bytes()[:2] == b"PK"
    assert torch.equal(load_tensors(tmp_path / "model.safetensors")["w"], values)


def test_the_engines_own_writer_with_a_header_starting_0x80_loads_again(tmp_path):
    """The reported case: a masked LM whose model.safetensors header is 1664 (0x680) bytes long."""
    tensors = {"w": torch.ones(3)}
    path = tmp_path / "model.safetensors"
    for pad in range(400):
        save_file(tensors, path, metadata={"format": "attention-studio", "pad": "x" * pad})
        if path.read_bytes()[0] == 0x80:
            break
    assert path.read_bytes()[0] == 0x80
    assert torch.equal(load_tensors(path)["w"], tensors["w"])


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("write", [
    lambda path, obj: path.write_bytes(pickle.dumps(obj, protocol=2)),
    lambda path, obj: path.write_bytes(pickle.dumps(obj, protocol=5)),
    lambda path, obj: torch.save({"w": torch.ones(2), "x": obj}, path),  # a zip
    lambda path, obj: torch.save({"w": torch.ones(2), "x": obj}, path, _use_new_zipfile_serialization=False),
], ids=["pickle-2", "pickle-5", "torch-zip", "torch-legacy"])
def test_pickles_and_zips_are_refused_and_never_unpickled(tmp_path, write):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    write(path, Payload(marker))
    assert file_kind(path) == "pickle"
    with pytest.raises(UserError, match="pickle/zip file, not safetensors"):
        load_tensors(path)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"\x10\x00", (10 ** 6).to_bytes(8, "little") + b"{}",
                                     (4).to_bytes(8, "little") + b"[1] ", (4).to_bytes(8, "little") + b"\xff\xfe{}"],
                         ids=["empty", "short", "length-beyond-file", "not-an-object", "not-utf8"])
def test_other_bytes_are_called_corrupt(tmp_path, content):
    path = tmp_path / "model.safetensors"
    path.write_bytes(content)
    with pytest.raises(UserError, match="corrupt or truncated"):
        load_tensors(path)
