"""T5 (v1.1 layout) in transformers' names: each block's sublayers as layer.0 (self-attention), layer.1
(cross-attention, decoder only) and the last (feed-forward); the token embedding as `shared`."""

from __future__ import annotations

from engine.config.hf_shape import hf_shape
from engine.core.errors import UserError
from engine.interop.special_ids import special_ids
from engine.model.gpt import GPTConfig, mlp_width
from engine.plan.estimate import mlp_hidden

SELF, CROSS = "SelfAttention", "EncDecAttention"


def _names(cfg: GPTConfig) -> list[tuple[str, str]]:
    """(our name, theirs) for every weight but the embedding and the output head."""
    out = []
    stacks = (("encoder", cfg.n_encoder_layer or cfg.n_layer), ("decoder", cfg.n_layer))
    for stack, n in stacks:
        for i in range(n):
            ours, theirs = f"{stack}.h.{i}.", f"{stack}.block.{i}.layer."
            ff = 2 if stack == "decoder" else 1
            out.append((ours + "ln_1.weight", theirs + "0.layer_norm.weight"))
            out += [(f"{ours}attn.{p}.weight", f"{theirs}0.{SELF}.{p}.weight") for p in "qkvo"]
            if i == 0:
                out.append((ours + "attn.relative_bias.weight", f"{theirs}0.{SELF}.relative_attention_bias.weight"))
            if stack == "decoder":
                out.append((ours + "ln_x.weight", theirs + "1.layer_norm.weight"))
                out += [(f"{ours}cross_attn.{p}.weight", f"{theirs}1.{CROSS}.{p}.weight") for p in "qkvo"]
            out.append((ours + "ln_2.weight", f"{theirs}{ff}.layer_norm.weight"))
            out += [(f"{ours}mlp.{p}.weight", f"{theirs}{ff}.DenseReluDense.{p}.weight")
                    for p in ("wi_0", "wi_1", "wo")]
        out.append((f"{stack}.ln_f.weight", f"{stack}.final_layer_norm.weight"))
    return out


def export(cfg: GPTConfig, sd: dict, tokenizer) -> tuple[dict, dict]:
    t = {theirs: sd[ours] for ours, theirs in _names(cfg)}
    t["shared.weight"] = sd["wte.weight"]
    scaled = cfg.tie_weights and cfg.scale_output
    if not scaled:  # transformers 4 unties to drop the scale; 5 reads scale_decoder_outputs
        t["lm_head.weight"] = sd.get("lm_head.weight", sd["wte.weight"])
    config = {"architectures": ["T5ForConditionalGeneration"], "model_type": "t5", "vocab_size": cfg.vocab_size,
              "d_model": cfg.n_embd, "d_kv": cfg.head_size, "d_ff": mlp_width(cfg),
              "num_layers": cfg.n_encoder_layer or cfg.n_layer, "num_decoder_layers": cfg.n_layer,
              "num_heads": cfg.n_head, "relative_attention_num_buckets": cfg.rel_buckets,
              "relative_attention_max_distance": cfg.rel_max_distance, "dropout_rate": cfg.dropout,
              "layer_norm_epsilon": cfg.norm_eps, "feed_forward_proj": "gated-gelu", "is_encoder_decoder": True,
              "tie_word_embeddings": scaled, "scale_decoder_outputs": scaled,
              **special_ids(tokenizer, cfg)}
    return t, config


def import_config(hf: dict) -> GPTConfig:
    proj = hf.get("feed_forward_proj", "relu")
    if proj not in ("gated-gelu", "gated-gelu_new"):
        raise UserError(f"this T5 uses a {proj!r} feed-forward; T5 v1.1 models (gated-gelu: t5-v1_1, flan-t5) "
                        f"can be imported")
    C, H = hf["d_model"], hf["num_heads"]
    if hf.get("d_kv", C // H) * H != C:
        raise UserError(f"this T5's heads ({H} x {hf.get('d_kv')}) do not add up to its width {C}: not supported")
    cfg = GPTConfig(**hf_shape(hf, "t5"), bias=False, position="relative", norm="rmsnorm", mlp="gelu_tanh",
                    norm_eps=hf.get("layer_norm_epsilon", 1e-6), tie_weights=True,
                    scale_output=bool(hf.get("scale_decoder_outputs", hf.get("tie_word_embeddings", True))),
                    arch="t5", dropout=0.0, rel_buckets=hf.get("relative_attention_num_buckets", 32),
                    rel_max_distance=hf.get("relative_attention_max_distance", 128))
    cfg.mlp_hidden = int(hf.get("d_ff") or mlp_hidden(C, "swiglu"))
    return cfg


def import_tensors(cfg: GPTConfig, sd: dict) -> dict:
    """The weights in our names; a head of its own (not the embedding) unties cfg's."""
    t = {ours: sd[theirs] for ours, theirs in _names(cfg)}
    t["wte.weight"] = sd["shared.weight"] if "shared.weight" in sd else sd["encoder.embed_tokens.weight"]
    head = sd.get("lm_head.weight")
    if head is not None and not (head.shape == t["wte.weight"].shape and bool((head == t["wte.weight"]).all())):
        cfg.tie_weights = False
        t["lm_head.weight"] = head
    return t
