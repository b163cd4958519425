"""Hugging Face interoperability: export to a transformers folder of the family that holds the model
weight for weight (GPT-2, GPT-NeoX, Llama, BERT, T5: engine/interop/families.py), and import one back.

Only names and layouts change, never values. Neither needs `transformers` installed; the folder holds
config.json, model.safetensors and the tokenizer's files.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import decoders, models, normalizers, pre_tokenizers

from engine.core.errors import UserError
from engine.data.tokenizer import Tokenizer
from engine.interop import hf_bert, hf_gpt2, hf_llama, hf_neox, hf_t5
from engine.interop.families import family_of
from engine.interop.hf_tokenizer import check_tokenizer, write_tokenizer
from engine.interop.permissions import as_created
from engine.interop.special_ids import generation_config
from engine.model.checkpoint import load_tensors
from engine.model.gpt import GPTConfig, sinusoid_table
from engine.run.folder import HF_TOKENIZER_FILE, HF_WEIGHTS_FILE

EXPORTERS = {"gpt2": hf_gpt2.export, "gpt_neox": hf_neox.export, "llama": hf_llama.export, "bert": hf_bert.export,
             "t5": hf_t5.export}
IMPORTERS = {"gpt2": hf_gpt2, "gpt_neox": hf_neox, "llama": hf_llama, "bert": hf_bert, "t5": hf_t5}
"""Each family's import_config(hf) checks and reads config.json before any weight is read; import_tensors
renames and reorders the weights."""


def export_model(model, tokenizer: Tokenizer, out_dir: str | Path, *, labels: list[str] | None = None,
                 chat_template: str | None = None) -> Path:
    """Write `model` as a transformers folder (atomically: a temporary folder renamed into place); a chat
    template (engine/data/chat_template.py) goes into its tokenizer_config.json."""
    cfg: GPTConfig = model.config
    family = family_of(cfg)
    sd = {k: v.detach().float().cpu() for k, v in model.state_dict().items()}
    if cfg.position == "sinusoidal":
        sd["wpe.weight"] = sinusoid_table(cfg.block_size, cfg.n_embd)
    tensors, config = EXPORTERS[family](cfg, sd, tokenizer)
    if labels:
        config["id2label"] = dict(enumerate(labels))
        config["label2id"] = {name: i for i, name in enumerate(labels)}
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} exists and is not empty: choose a new folder for the export")
    tmp = out.with_name(f".tmp-{out.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
    except OSError as e:
        raise UserError(f"cannot create the export folder {out}: {e.strerror}") from None
    try:
        save_file({k: v.contiguous().clone() for k, v in tensors.items()}, tmp / HF_WEIGHTS_FILE,
                  metadata={"format": "pt"})
        (tmp / "config.json").write_text(json.dumps(config, indent=2))
        if (generation := generation_config(tokenizer, cfg)) is not None:
            (tmp / "generation_config.json").write_text(json.dumps(generation, indent=2))
        write_tokenizer(tmp, tokenizer, cfg, chat_template)
        check_tokenizer(tmp, tokenizer, cfg)
        as_created(tmp)  # 0644/0755 under umask 022: safetensors writes its file for the owner alone
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


# ----- import ---------------------------------------------------------------------------------------
def is_hf_folder(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / "config.json").is_file() and any(p.glob("*.safetensors"))


def import_model(folder: str | Path) -> tuple[GPTConfig, dict[str, torch.Tensor], Tokenizer]:
    """A transformers folder (config.json, safetensors, tokenizer) as our config, weights and tokenizer.

    Task heads (a classifier, next-sentence) are left out: the fine-tuning run adds its own."""
    folder = Path(folder)
    try:
        hf = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"{folder}/config.json cannot be read: {e}") from None
    kind = hf.get("model_type")
    if kind not in IMPORTERS:
        raise UserError(f"{folder.name} is a {kind!r} model: the GPT-2, GPT-NeoX, Llama and BERT families can be "
                        f"imported")
    if any(p.suffix == ".bin" for p in folder.iterdir()) and not any(folder.glob("*.safetensors")):
        raise UserError(f"{folder.name} has only pickled .bin weights, which are never loaded: convert to safetensors")
    family = IMPORTERS[kind]
    try:
        cfg = family.import_config(hf)
    except KeyError as e:
        raise UserError(f"{folder.name}/config.json lacks {e.args[0]!r}, which a {kind} model needs") from None
    sd: dict[str, torch.Tensor] = {}
    for f in sorted(folder.glob("*.safetensors")):
        sd.update(load_tensors(f))
    try:
        ours = family.import_tensors(cfg, sd)
    except KeyError as e:
        raise UserError(f"{folder.name}'s weights lack {e.args[0]}: the folder is incomplete") from None
    return cfg, ours, _import_tokenizer(folder)


def _import_tokenizer(folder: Path) -> Tokenizer:
    if (folder / HF_TOKENIZER_FILE).is_file():
        return Tokenizer.load(folder / HF_TOKENIZER_FILE)
    if (folder / "vocab.txt").is_file():
        lower = True
        if (folder / "tokenizer_config.json").is_file():
            lower = json.loads((folder / "tokenizer_config.json").read_text()).get("do_lower_case", True)
        tok = HFTokenizer(models.WordPiece.from_file(str(folder / "vocab.txt"), unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=lower)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        specials = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
        tok.add_special_tokens([t for t in specials if tok.token_to_id(t) is not None])
        return Tokenizer(tok, "wordpiece")
    if (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
        tok = HFTokenizer(models.BPE.from_file(str(folder / "vocab.json"), str(folder / "merges.txt")))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        return Tokenizer(tok, "bpe")
    raise UserError(f"{folder.name} has no tokenizer (tokenizer.json, vocab.txt, or vocab.json + merges.txt)")
