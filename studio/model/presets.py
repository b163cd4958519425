"""Built-in presets: model sizes, and the recipes in resources/recipes (with their reference curves)."""

from __future__ import annotations

from engine.config import schema as C
from engine.config.schema import DEMO_PREFIX
from studio.recipes import RECIPES

SIZES = {
    "tiny (CPU, minutes)": dict(n_layer=2, n_head=2, n_embd=64, block_size=64),
    "small (CPU, an hour)": dict(n_layer=6, n_head=6, n_embd=384, block_size=256),
    "GPT-2 small sized (GPU)": dict(n_layer=12, n_head=12, n_embd=768, block_size=1024),
}


def preset_names() -> list[str]:
    return list(SIZES) + [f"recipe: {p.stem}" for p in sorted(RECIPES.glob("*.toml"))]


def apply_preset(name: str, cfg: C.RunConfig) -> C.RunConfig:
    """A copy of `cfg` with the preset applied (recipes replace everything but the corpus path; one that
    trains on a built-in generated corpus, such as the induction recipe, keeps its own)."""
    if name.startswith("recipe: "):
        recipe = C.load(RECIPES / f"{name.removeprefix('recipe: ')}.toml")
        if cfg.data.path and not recipe.data.path.startswith(DEMO_PREFIX):
            recipe.data.path = cfg.data.path
        return recipe
    out = cfg.copy()
    for k, v in SIZES[name].items():
        setattr(out.model, k, v)
    if name.startswith("GPT-2"):
        out.tokenizer.kind, out.tokenizer.vocab_size = "bpe", 50257
        out.train.batch_size, out.train.precision, out.train.compile = 16, "bf16", "on"
    return out
