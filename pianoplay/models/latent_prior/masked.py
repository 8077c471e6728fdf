"""A masked-token prior over codebook ids (``PriorConfig.objective == "masked"``): the
same transformer as the denoiser, reading ids (a MASK id where a bar is to be written)
and predicting, at every masked position, a distribution over the ``codebook`` of real
bars (``codebook.py``). Trained with cross-entropy on random and structured masks;
sampled in a random order, one bar at a time (any-order autoregression: each new bar
sees every bar known or written so far, before and after it).

``codebook`` (styles, K, D) (a buffer) holds each style's refined bar for each id, what the
VAE decodes;
``centroids`` (K, D) the cluster centres a user's codes are quantised to.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from pianoplay.models.latent_prior.model import PriorConfig


class MaskedPrior(nn.Module):
    """(ids (B, S) long, known (B, S) bool, style (B,)) -> logits (B, S, K)."""

    def __init__(self, cfg: PriorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        K, d = cfg.codebook_size, cfg.d_model
        # decoded: each style's bar for each id
        self.register_buffer("codebook", torch.zeros(len(cfg.styles), K, cfg.latent_dim))
        self.register_buffer("centroids", torch.zeros(K, cfg.latent_dim))  # quantised to
        self.embed = nn.Embedding(K + 1, d)  # id K is MASK
        self.pos = nn.Parameter(torch.randn(cfg.segments, d) * 0.02)
        self.style = nn.Embedding(len(cfg.styles), d)
        layer = nn.TransformerEncoderLayer(d, cfg.n_heads, cfg.d_ff, cfg.dropout,
                                           activation="gelu", batch_first=True,
                                           norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, cfg.n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, K)

    @property
    def mask_id(self) -> int:
        return self.cfg.codebook_size

    def forward(self, ids: torch.Tensor, known: torch.Tensor, style: torch.Tensor
                ) -> torch.Tensor:
        S = ids.shape[1]
        x = torch.where(known, ids, torch.full_like(ids, self.mask_id))
        h = self.embed(x) + self.pos[:S] + self.style(style)[:, None]
        return self.out(self.norm(self.blocks(h)))

    # codes <-> ids -------------------------------------------------------------
    def quantise(self, z: torch.Tensor) -> torch.Tensor:
        """(..., D) codes -> (...) ids of the nearest cluster centres (as in training)."""
        flat = z.reshape(-1, z.shape[-1])
        d = (self.centroids ** 2).sum(1)[None] - 2 * flat @ self.centroids.T
        return d.argmin(1).reshape(z.shape[:-1])

    def codes(self, ids: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """(B, S) ids of rows in styles (B,) -> (B, S, D): the bars the VAE decodes."""
        return self.codebook[style[:, None], ids]


def masked_loss(model: MaskedPrior, ids: torch.Tensor, known: torch.Tensor,
                style: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Cross-entropy (nats per bar) at the unknown positions; some of them are revealed
    at random (a ratio drawn per window), as they are while a gap is being written."""
    B, S = ids.shape
    ratio = torch.rand(B, 1, generator=generator)
    reveal = (torch.rand(B, S, generator=generator) < ratio) & ~known
    free = ~known & ~reveal
    free[torch.arange(B), torch.where(free.any(1), free.float().argmax(1),
                                      torch.randint(0, S, (B,), generator=generator))] = True
    seen = ~free
    logits = model(ids, seen, style)
    return F.cross_entropy(logits[free], ids[free])


@torch.no_grad()
def masked_sample(model: MaskedPrior, ids: torch.Tensor, known: torch.Tensor,
                  style: torch.Tensor, generator: torch.Generator | None = None,
                  temperature: float = 1.0, top_p: float = 1.0,
                  allowed=None, bias=None) -> torch.Tensor:
    """(B, S) ids with every unknown position written, one at a time in a random order,
    each drawn from the model's distribution given everything written so far. Only ids
    where ``allowed`` is True, when given: a (K,) bool tensor, or a function of (ids,
    known, pos (B,)) giving a (B, K) one. ``bias`` is added to the logits: (K,) (a
    personal palette's pull towards its files' own bars) or such a function (the pull
    towards bars that continue their neighbours' held notes)."""
    ids, known = ids.clone(), known.clone()
    B = ids.shape[0]
    rows = torch.arange(B, device=ids.device)
    while not bool(known.all()):
        logits = model(ids, known, style)  # (B, S, K)
        order = torch.rand(known.shape, generator=generator).to(ids.device)
        order[known] = -1.0
        pos = order.argmax(1)  # a random unknown position of each row
        active = ~known[rows, pos]
        step = logits[rows, pos]
        if bias is not None:
            step = step + (bias(ids, known, pos) if callable(bias) else bias)
        step = step / max(temperature, 1e-4)
        if allowed is not None:
            ok = allowed(ids, known, pos) if callable(allowed) else allowed
            step = step.masked_fill(~ok, float("-inf"))
        probs = torch.softmax(step, -1)
        if top_p < 1.0:
            sorted_p, index = probs.sort(-1, descending=True)
            cut = sorted_p.cumsum(-1) - sorted_p > top_p
            sorted_p[cut] = 0.0
            probs = torch.zeros_like(probs).scatter(-1, index, sorted_p)
        u = torch.rand(B, 1, generator=generator).to(ids.device)
        draw = (probs.cumsum(-1) / probs.sum(-1, keepdim=True) < u).sum(-1)
        draw = draw.clamp(max=probs.shape[-1] - 1)
        ids[rows[active], pos[active]] = draw[active]
        known[rows[active], pos[active]] = True
    return ids
