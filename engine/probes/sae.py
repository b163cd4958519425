"""A TopK sparse autoencoder (Gao et al. 2024, "Scaling and evaluating sparse autoencoders"; SAELens' "topk"
architecture), trained on a sample of activations.

    f = TopK_k(ReLU((x - b_dec) W_enc + b_enc))       (N, d_sae): at most k features on per position
    x_hat = f W_dec + b_dec                            W_dec's rows (the features' directions) of unit norm

Training follows the paper's recipe at a small scale: the inputs scaled to a mean squared norm of d_in (the
scale folded back into the biases afterwards, so the saved SAE reads raw activations), b_dec started at their
mean, the encoder at the decoder's transpose, Adam on the reconstruction's normalised mean squared error, the
decoder's rows renormalised after every step, and the auxiliary loss that makes dead features (not on for
DEAD_AFTER inputs) reconstruct what the live ones miss, so fewer of them stay dead (on the baby recipe's layer 2,
512 features: about 100 dead instead of 245 without it).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

DEAD_AFTER = 4096
"""A feature that has not been on for this many training inputs counts as dead (for the auxiliary loss)."""
AUX_SHARE = 1 / 32
"""The auxiliary loss's weight against the reconstruction's, both normalised (the paper's alpha)."""


class TopKSAE(nn.Module):
    """Parameters named and shaped as SAELens names them: W_enc (d_in, d_sae), b_enc (d_sae,),
    W_dec (d_sae, d_in), b_dec (d_in,)."""

    def __init__(self, d_in: int, d_sae: int, k: int, *, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        directions = torch.randn(d_sae, d_in, generator=g)
        directions /= directions.norm(dim=1, keepdim=True)
        self.W_dec = nn.Parameter(directions)
        self.W_enc = nn.Parameter(directions.T.clone())
        self.b_enc = nn.Parameter(torch.zeros(d_sae))
        self.b_dec = nn.Parameter(torch.zeros(d_in))
        self.k = k

    @property
    def d_in(self) -> int:
        return self.W_dec.shape[1]

    @property
    def d_sae(self) -> int:
        return self.W_dec.shape[0]

    def pre_activations(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.b_dec) @ self.W_enc + self.b_enc  # (N, d_sae)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return keep_top(self.pre_activations(x).relu(), self.k)

    def decode(self, f: torch.Tensor) -> torch.Tensor:
        return f @ self.W_dec + self.b_dec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    @torch.no_grad()
    def normalize_decoder(self) -> None:
        self.W_dec /= self.W_dec.norm(dim=1, keepdim=True).clamp_min(1e-8)


def keep_top(values: torch.Tensor, k: int) -> torch.Tensor:
    """`values` with all but the k largest of each row set to zero."""
    top = values.topk(min(k, values.shape[-1]), dim=-1)
    return torch.zeros_like(values).scatter_(-1, top.indices, top.values)


@dataclass
class Trained:
    sae: TopKSAE
    explained: float
    """The share of the sample's variance the reconstruction explains (1 - MSE / variance)."""
    dead: int
    """Features never on over the whole sample."""
    density: torch.Tensor
    """(d_sae,) the share of the sample's positions where each feature is on."""


def train_sae(acts: torch.Tensor, d_sae: int, k: int, *, steps: int = 1000, batch: int = 512, lr: float = 2e-3,
              seed: int = 0, start: TopKSAE | None = None) -> Trained:
    """A TopK SAE with `d_sae` features fitted to `acts` (N, d_in), and how well it fits them. With `start` (an
    SAE of the same shape) training continues from its features instead of random ones."""
    x = acts.detach().float().cpu()
    mean = x.mean(dim=0)
    scale = (x.shape[1] / (x - mean).pow(2).sum(dim=1).mean().clamp_min(1e-12)).sqrt()  # mean ||x s - mu s||^2 = d
    x = x * scale
    sae = TopKSAE(x.shape[1], d_sae, k, seed=seed)
    with torch.no_grad():
        if start is None:
            sae.b_dec.copy_(mean * scale)
        else:  # its raw units scaled as these inputs are
            for name, p in sae.named_parameters():
                p.copy_(getattr(start, name) * (scale if name in ("b_enc", "b_dec") else 1))
    opt = torch.optim.Adam(sae.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    idle = torch.zeros(d_sae)  # inputs seen since each feature was last on
    for _ in range(steps):
        xb = x[torch.randint(len(x), (min(batch, len(x)),), generator=g)]
        pre = sae.pre_activations(xb).relu()
        f = keep_top(pre, k)
        recon = sae.decode(f)
        loss = (recon - xb).pow(2).sum(dim=1).mean() / x.shape[1]  # normalised: the scaled inputs' variance is d_in
        idle = torch.where((f > 0).any(dim=0), torch.zeros_like(idle), idle + len(xb))
        dead = idle >= DEAD_AFTER
        if dead.any():
            loss = loss + AUX_SHARE * aux_loss(sae, pre, dead, (xb - recon).detach(), k_aux=xb.shape[1] // 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sae.normalize_decoder()
    with torch.no_grad():
        sae.b_enc /= scale  # the scale folded back in: the same features (in raw units) on raw activations
        sae.b_dec /= scale
    explained, density = measure(sae, acts.detach().float().cpu())
    return Trained(sae.eval().requires_grad_(False), explained, int((density == 0).sum()), density)


def aux_loss(sae: TopKSAE, pre: torch.Tensor, dead: torch.Tensor, error: torch.Tensor, *, k_aux: int) -> torch.Tensor:
    """How well the dead features' own top activations reconstruct the live ones' error (the paper's AuxK)."""
    f = keep_top(pre * dead, min(k_aux, int(dead.sum())))
    return (f @ sae.W_dec - error).pow(2).sum(dim=1).mean() / error.pow(2).sum(dim=1).mean().clamp_min(1e-12)


@torch.no_grad()
def measure(sae: TopKSAE, acts: torch.Tensor, *, batch: int = 4096) -> tuple[float, torch.Tensor]:
    """(share of variance explained, each feature's density) over `acts`."""
    err, on = 0.0, torch.zeros(sae.d_sae)
    for first in range(0, len(acts), batch):
        xb = acts[first: first + batch]
        f = sae.encode(xb)
        err += float((sae.decode(f) - xb).pow(2).sum())
        on += (f > 0).sum(dim=0)
    total = float((acts - acts.mean(dim=0)).pow(2).sum())
    return (1 - err / total if total > 0 else 0.0), on / max(len(acts), 1)
