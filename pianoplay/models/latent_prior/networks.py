"""The network each objective uses (``PriorConfig.objective``): one place to build it."""

from __future__ import annotations

import torch

from pianoplay.models.latent_prior.masked import MaskedPrior
from pianoplay.models.latent_prior.model import Denoiser, PriorConfig


def build_model(mc: PriorConfig) -> torch.nn.Module:
    """The denoiser (diffusion, flow) or the masked-token prior (masked)."""
    return MaskedPrior(mc) if mc.objective == "masked" else Denoiser(mc)
