"""The model's shape: the fields that the run config's [model] section and the built model's config both hold,
and that a fine-tune takes from its source (dropout is a training setting, each config keeps its own).

Each lives here once; `ModelConfig` (what the user writes) and `GPTConfig` (what a checkpoint stores) extend it with
what is theirs alone, and `shape_of` carries the shape from one to the other.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class Shape:
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    """Context length in tokens."""
    bias: bool = False
    position: str = "learned"
    """learned | sinusoidal | rope (a T5-style model uses relative positions whatever this says)."""
    norm: str = "layernorm"
    mlp: str = "gelu"
    tie_weights: bool = True
    n_encoder_layer: int = 0
    """seq2seq: the encoder's layers (n_layer is the decoder's); 0 = as many as the decoder."""
    prenorm: bool = False
    """Encoders (arch bert): normalize before attention and the MLP, with a final norm after the last block, as
    decoders always do, instead of BERT's norm after each residual add. Trains more steadily; BERT exports refuse it."""


SHAPE_FIELDS = tuple(f.name for f in fields(Shape))
SHAPE_KEYS = (*SHAPE_FIELDS, "vocab_size")
"""What a model's shape is made of: its Shape and its vocabulary (whose default differs: see its users)."""


def shape_of(config) -> dict:
    """The Shape fields of a ModelConfig, a GPTConfig or anything holding them."""
    return {name: getattr(config, name) for name in SHAPE_FIELDS}
