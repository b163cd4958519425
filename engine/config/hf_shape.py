"""A Hugging Face config.json's model shape in the engine's names: one table a family, read without torch.

The fine-tune form (engine/run/source.py) shows a source's shape from here and the importers (engine/interop/hf_*.py)
build their GPTConfig on it, so each family's config names are known in one place.
"""

from __future__ import annotations

NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "gpt2": {"n_layer": ("n_layer",), "n_head": ("n_head",), "n_embd": ("n_embd",), "block_size": ("n_positions",),
             "vocab_size": ("vocab_size",)},
    "bert": {"n_layer": ("num_hidden_layers",), "n_head": ("num_attention_heads",), "n_embd": ("hidden_size",),
             "block_size": ("max_position_embeddings",), "vocab_size": ("vocab_size",)},
    "gpt_neox": {"n_layer": ("num_hidden_layers",), "n_head": ("num_attention_heads",), "n_embd": ("hidden_size",),
                 "block_size": ("max_position_embeddings",), "vocab_size": ("vocab_size",)},
    "t5": {"n_layer": ("num_decoder_layers", "num_layers"), "n_encoder_layer": ("num_layers",),
           "n_head": ("num_heads",), "n_embd": ("d_model",), "block_size": ("n_positions",),
           "vocab_size": ("vocab_size",)},
}
"""Each shape field and the config.json names that may hold it, the first one set wins."""
NAMES["llama"] = NAMES["gpt_neox"]

DEFAULTS: dict[str, dict[str, int]] = {
    "gpt2": {"n_layer": 12, "n_head": 12, "n_embd": 768, "block_size": 1024, "vocab_size": 50257},
    "bert": {"n_layer": 12, "n_head": 12, "n_embd": 768, "block_size": 512, "vocab_size": 30522},
    "gpt_neox": {"block_size": 2048},
    "llama": {"block_size": 2048},
    "t5": {"n_layer": 6, "n_encoder_layer": 6, "n_head": 8, "n_embd": 512, "block_size": 512, "vocab_size": 32128},
}
"""What transformers assumes where a config.json leaves a field out (a family without a default here requires it)."""


LAYOUT: dict[str, dict[str, tuple[str, object]]] = {
    "gpt2": {"activation": ("activation_function", "gelu_new"), "norm_eps": ("layer_norm_epsilon", 1e-5),
             "mlp_hidden": ("n_inner", None), "tie_weights": ("tie_word_embeddings", True)},
    "bert": {"activation": ("hidden_act", "gelu"), "norm_eps": ("layer_norm_eps", 1e-12),
             "mlp_hidden": ("intermediate_size", None), "tie_weights": ("tie_word_embeddings", True)},
    "gpt_neox": {"activation": ("hidden_act", "gelu"), "norm_eps": ("layer_norm_eps", 1e-5),
                 "mlp_hidden": ("intermediate_size", None), "tie_weights": ("tie_word_embeddings", False)},
}
"""Beside the shape, the config.json names (and transformers' defaults) of the layout a family's importer reads."""


def hf_layout(hf: dict, family: str) -> dict:
    """The activation's name, norm epsilon, MLP width (None: the family's default) and tying of a config.json."""
    return {field: hf.get(name, default) for field, (name, default) in LAYOUT[family].items()}


def hf_shape(hf: dict, family: str) -> dict:
    """The engine's shape fields of a config.json of `family` (its model_type), by the family's names."""
    shape = {}
    for field, names in NAMES[family].items():
        value = next((hf[n] for n in names if hf.get(n)), None)
        if value is None:
            value = DEFAULTS[family].get(field)
        if value is None:
            raise KeyError(names[0])
        shape[field] = int(value)
    return shape
