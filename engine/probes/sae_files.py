"""A TopK SAE saved in the folder layout SAELens reads (`SAE.load_from_disk(folder)`): `cfg.json` and
`sae_weights.safetensors` holding W_enc (d_in, d_sae), b_enc, W_dec (d_sae, d_in), b_dec.

cfg.json is written in SAELens' flat (pre-6.0) form, which every version loads: 6.x moves the model fields
(model_name, hook_name, context_size...) into its `metadata` and reads k from `activation_fn_kwargs`. The
hook name is our model's own hook point (engine/model/hooks.py), such as `h.1.hook_resid_post`.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from engine.core.errors import UserError
from engine.core.tomlio import write_atomic
from engine.probes.sae import TopKSAE

CFG_FILE = "cfg.json"
WEIGHTS_FILE = "sae_weights.safetensors"


def sae_config(sae: TopKSAE, *, hook_name: str, layer: int, model_name: str, context_size: int,
               dataset: str) -> dict:
    return {
        "architecture": "topk", "d_in": sae.d_in, "d_sae": sae.d_sae, "k": sae.k,
        "activation_fn_str": "topk", "activation_fn_kwargs": {"k": sae.k},
        "apply_b_dec_to_input": True, "normalize_activations": "none", "finetuning_scaling_factor": False,
        "rescale_acts_by_decoder_norm": False, "reshape_activations": "none",
        "dtype": "float32", "device": "cpu",
        "model_name": model_name, "hook_name": hook_name, "hook_layer": layer, "hook_head_index": None,
        "context_size": context_size, "prepend_bos": False, "dataset_path": dataset,
        "dataset_trust_remote_code": False, "sae_lens_training_version": None, "neuronpedia_id": None,
        "model_from_pretrained_kwargs": {},
    }


def save_sae(folder: Path, sae: TopKSAE, **config) -> Path:
    """Write the SAE into `folder` (made if missing): its config and weights."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {name: p.detach().float().contiguous().cpu() for name, p in sae.named_parameters()}
    tmp = folder / f".{WEIGHTS_FILE}.tmp"
    save_file(tensors, str(tmp))
    tmp.replace(folder / WEIGHTS_FILE)
    write_atomic(folder / CFG_FILE, json.dumps(sae_config(sae, **config), indent=1))
    return folder


def load_sae(folder: Path) -> TopKSAE:
    """The SAE saved in `folder` by save_sae (or a SAELens topk SAE of the same layout)."""
    folder = Path(folder)
    try:
        cfg = json.loads((folder / CFG_FILE).read_text())
        tensors = load_file(str(folder / WEIGHTS_FILE))
    except (OSError, ValueError) as e:
        raise UserError(f"{folder} holds no readable SAE ({CFG_FILE} and {WEIGHTS_FILE}): {e}") from None
    k = cfg.get("k") or (cfg.get("activation_fn_kwargs") or {}).get("k")
    if cfg.get("architecture") != "topk" or not k:
        raise UserError(f"{folder / CFG_FILE} is not a TopK SAE's config (architecture {cfg.get('architecture')!r})")
    sae = TopKSAE(int(cfg["d_in"]), int(cfg["d_sae"]), int(k))
    with torch.no_grad():
        for name, p in sae.named_parameters():
            p.copy_(tensors[name])
    return sae.eval().requires_grad_(False)
