"""Encoders of the chord-token MusicVAE, chosen by name (``VAEConfig.encoder``).

An encoder maps a window of frames to the posterior q(z | x)::

    encoder(roll (B, T, 88), lengths (B,)) -> mu, logvar (B, D)

``ENCODERS`` is the one list of them.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence


class FrameEmbedding(nn.Module):
    """(B, T, 88) multi-hot -> (B, T, E). A linear map of the keys, so frames
    outside the vocabulary keep their full content as inputs."""

    def __init__(self, n_keys: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(n_keys, dim)

    def forward(self, roll: torch.Tensor) -> torch.Tensor:
        return self.proj(roll.float())


class LSTMEncoder(nn.Module):
    """Frame embedding -> bidirectional LSTM -> (mu, logvar) of a diagonal Gaussian."""

    def __init__(self, cfg) -> None:
        super().__init__()
        self.embed = FrameEmbedding(cfg.n_keys, cfg.frame_dim)
        self.lstm = nn.LSTM(cfg.frame_dim, cfg.enc_hidden, batch_first=True, bidirectional=True)
        self.to_mu = nn.Linear(2 * cfg.enc_hidden, cfg.latent_dim)
        self.to_logvar = nn.Linear(2 * cfg.enc_hidden, cfg.latent_dim)
        # Start near the prior's variance so early KL is small and stable.
        nn.init.zeros_(self.to_logvar.weight)
        nn.init.zeros_(self.to_logvar.bias)

    def forward(
        self, roll: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """roll (B, T, 88), lengths (B,) -> mu, logvar (B, D)."""
        x = self.embed(roll)  # (B, T, E)
        # Packing keeps the backward direction from reading the padding.
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)  # h (2, B, H)
        h = torch.cat([h[0], h[1]], dim=-1)  # (B, 2H)
        return self.to_mu(h), self.to_logvar(h)


ENCODERS = {"lstm": LSTMEncoder}
