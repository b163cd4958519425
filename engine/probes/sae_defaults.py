"""The features pipeline's defaults, torch-free: the studio offers the engine's own (engine/probes/features.py)."""

WIDTH_PER_DIM = 4
"""Features per residual dimension by default (the SAE's width is this times n_embd)."""
K = 8
"""Features on per position by default."""
STEPS = 1000
"""Adam steps of 512 positions for each SAE."""
