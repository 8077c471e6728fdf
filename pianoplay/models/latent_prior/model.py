"""A denoiser over sequences of per-segment VAE codes, and the two generative
objectives it is trained with (after Mittal et al. 2021, *Symbolic Music
Generation with Diffusion Models*, whose transformer denoiser works on 32 MusicVAE
codes; ours sees 16 one-bar codes of ``vae-faithful``).

Codes are standardised per dimension (``mean``/``std`` buffers) before the model
sees them. Every position carries a flag: known positions give their clean code,
unknown ones a noisy one, and the loss is taken on the unknown ones only. The same
network thus samples (nothing known), infills (a gap unknown), continues (a
prefix known) and writes introductions (a suffix known); it is trained on all four.

Objectives (``PriorConfig.objective``):
- ``"diffusion"``: variance-preserving diffusion with a cosine schedule, the network
  predicts v (Salimans and Ho 2022); sampled with DDIM (deterministic given the
  starting noise).
- ``"flow"``: rectified flow / flow matching (x_t = (1 - t) x + t e), the network
  predicts the velocity e - x; sampled with Euler steps from t = 1 to 0.
- ``"masked"``: not a denoiser: ids of a codebook of real bars, see ``masked.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from pianoplay.config_io import from_dict, to_dict

OBJECTIVES = ("diffusion", "flow", "masked")


@dataclass
class PriorConfig:
    latent_dim: int = 256  # D: the VAE's code size
    segments: int = 16  # S: codes a window holds (one per bar of 4/4)
    styles: list[str] = field(default_factory=lambda: ["nottingham", "piano-midi-de"])
    d_model: int = 256
    n_layers: int = 4
    n_heads: int = 8
    d_ff: int = 1024
    dropout: float = 0.1
    objective: str = "diffusion"
    sample_steps: int = 40  # denoising steps when sampling (diffusion, flow)
    codebook_size: int = 0  # bars of the codebook (masked)

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, not {self.objective!r}")

    def to_dict(self) -> dict:
        return to_dict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "model") -> PriorConfig:
        return from_dict(cls, d, where)


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """(B,) times in [0, 1] -> (B, dim) sinusoidal features."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
    args = 1000.0 * t[:, None].float() * freqs[None]
    return torch.cat([args.sin(), args.cos()], dim=-1)


class Denoiser(nn.Module):
    """(x_t (B, S, D), known (B, S) bool, t (B,), style (B,)) -> (B, S, D) prediction."""

    def __init__(self, cfg: PriorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        D, d = cfg.latent_dim, cfg.d_model
        self.register_buffer("mean", torch.zeros(D))
        self.register_buffer("std", torch.ones(D))
        self.inp = nn.Linear(D + 1, d)
        self.pos = nn.Parameter(torch.randn(cfg.segments, d) * 0.02)
        self.style = nn.Embedding(len(cfg.styles), d)
        self.time = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        layer = nn.TransformerEncoderLayer(d, cfg.n_heads, cfg.d_ff, cfg.dropout,
                                           activation="gelu", batch_first=True,
                                           norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, cfg.n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, D)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, known: torch.Tensor, t: torch.Tensor,
                style: torch.Tensor) -> torch.Tensor:
        S = x.shape[1]
        h = self.inp(torch.cat([x, known[..., None].to(x.dtype)], dim=-1))  # (B, S, d)
        cond = self.time(time_embedding(t, h.shape[-1])) + self.style(style)  # (B, d)
        h = h + self.pos[:S] + cond[:, None]
        return self.out(self.norm(self.blocks(h)))

    # standardisation ---------------------------------------------------------
    def normalise(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.mean) / self.std

    def denormalise(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std + self.mean


def alpha_sigma(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine schedule: signal and noise scales at t in [0, 1] (alpha^2 + sigma^2 = 1)."""
    angle = t.clamp(0.0, 1.0) * (math.pi / 2) * 0.994 + 0.003
    return torch.cos(angle), torch.sin(angle)


def noisy(objective: str, x: torch.Tensor, e: torch.Tensor, t: torch.Tensor
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """(x_t, target) for clean x (B, S, D), noise e and times t (B,)."""
    tb = t[:, None, None]
    if objective == "flow":
        return (1 - tb) * x + tb * e, e - x
    a, s = alpha_sigma(tb)
    return a * x + s * e, a * e - s * x  # v-prediction


def loss(model: Denoiser, x: torch.Tensor, known: torch.Tensor, style: torch.Tensor,
         generator: torch.Generator | None = None) -> torch.Tensor:
    """Mean squared error of the prediction on the unknown positions of standardised
    codes x (B, S, D); known (B, S) bool."""
    B = x.shape[0]
    t = torch.rand(B, device=x.device, generator=generator)
    e = torch.randn(x.shape, device=x.device, generator=generator)
    xt, target = noisy(model.cfg.objective, x, e, t)
    xt = torch.where(known[..., None], x, xt)
    pred = model(xt, known, t, style)
    err = (pred - target).pow(2).mean(-1)  # (B, S)
    free = (~known).float()
    return (err * free).sum() / free.sum().clamp(min=1.0)


@torch.no_grad()
def sample(model: Denoiser, known_x: torch.Tensor, known: torch.Tensor, style: torch.Tensor,
           steps: int | None = None, generator: torch.Generator | None = None,
           start_t: float = 1.0, start_x: torch.Tensor | None = None,
           temperature: float = 1.0) -> torch.Tensor:
    """Standardised codes (B, S, D): the unknown positions generated, the known ones
    (``known_x`` where ``known``) kept.

    ``start_t`` < 1 with ``start_x`` denoises from ``start_x`` noised to that level
    (SDEdit): a few steps that pull an edited code sequence back to the prior's support.
    ``temperature`` scales the starting noise (below 1: closer to the typical piece).
    """
    objective = model.cfg.objective
    steps = steps or model.cfg.sample_steps
    e = temperature * torch.randn(known_x.shape, device=known_x.device, generator=generator)
    B = known_x.shape[0]
    ts = torch.linspace(start_t, 0.0, steps + 1, device=known_x.device)
    if start_x is None:
        x = e  # pure noise at t = 1 for both objectives
    else:
        x, _ = noisy(objective, start_x, e, ts[0].expand(B))
    for i in range(steps):
        t, t_next = ts[i], ts[i + 1]
        xin = torch.where(known[..., None], known_x, x)
        pred = model(xin, known, t.expand(B), style)
        if objective == "flow":
            x = x + (t_next - t) * pred
        else:
            a, s = alpha_sigma(t)
            x0 = a * x - s * pred
            eps = s * x + a * pred
            a2, s2 = alpha_sigma(t_next)
            x = a2 * x0 + s2 * eps if i < steps - 1 else x0
    return torch.where(known[..., None], known_x, x)


def masks(B: int, S: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, S) bool known positions for training: 40 % nothing known (sampling), 25 % a
    known prefix (continuation), 10 % a known suffix (introduction), 25 % one unknown
    gap inside (infilling)."""
    u = torch.rand(B, generator=generator)
    cut = torch.randint(1, S, (B,), generator=generator)
    length = torch.randint(1, S, (B,), generator=generator)
    pos = torch.arange(S)[None]
    prefix = pos < cut[:, None]
    suffix = pos >= cut[:, None]
    start = (cut - length // 2).clamp(min=0)[:, None]
    gap = (pos >= start) & (pos < start + length[:, None])
    known = torch.zeros(B, S, dtype=torch.bool)
    known = torch.where((u >= 0.40)[:, None] & (u < 0.65)[:, None], prefix, known)
    known = torch.where((u >= 0.65)[:, None] & (u < 0.75)[:, None], suffix, known)
    known = torch.where((u >= 0.75)[:, None], ~gap, known)
    return known


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())



