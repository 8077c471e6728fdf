"""The performer: two small sequence nets, one over the notes in onset order (velocity), one
over the sixteenth steps (sustain pedal down, and a press or change at the step).

Each net is a stack of dilated 1-D convolutions over the sequence, looking both ways
(``arch="conv"``: ``blocks`` residual blocks, dilations 1, 2, 4, ...; each side sees
2**blocks - 1 neighbours), or a bidirectional GRU (``arch="gru"``). The convolutions
perform a 16-bar piece in a few milliseconds on one CPU thread; the GRU took ~50 ms.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from pianoplay.config_io import check_names, from_dict
from pianoplay.models.performer.features import NOTE_FEATURES, STEP_FEATURES

VEL_CENTER = 64.0  # velocity = VEL_CENTER + VEL_SCALE * output
VEL_SCALE = 32.0


@dataclass
class PerformerConfig:
    note_features: int = NOTE_FEATURES
    step_features: int = STEP_FEATURES
    arch: str = "conv"  # "conv" (dilated convolutions) or "gru"
    hidden: int = 64  # channels (conv) or GRU units per direction
    layers: int = 2  # GRU layers (arch "gru")
    blocks: int = 6  # residual blocks (arch "conv"): dilations 1, 2, ..., 2**(blocks-1)
    kernel: int = 3
    pool: bool = True  # (conv) add the mean over the whole sequence: what the piece is like
    dropout: float = 0.1
    spread: float = 1.0  # velocity deviations from the piece's mean are scaled by this
    down_threshold: float = 0.5  # pedal down where P(down) exceeds it
    press_threshold: float = 0.5  # a change (up and down again) where P(press) exceeds it
    bar_changes: bool = True  # the pedal is also changed at every bar line it is held over

    @classmethod
    def from_dict(cls, d: dict | None) -> PerformerConfig:
        cfg = from_dict(cls, d, where="performer model")
        check_names(cfg, {"arch": ("conv", "gru")}, where="performer model")
        return cfg


class Block(nn.Module):
    """x + W2 gelu(dilated conv(x)): (B, C, T) -> (B, C, T)."""

    def __init__(self, channels: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel, dilation=dilation,
                              padding=dilation * (kernel // 2))
        self.mix = nn.Conv1d(channels, channels, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(self.mix(nn.functional.gelu(self.conv(x))))


class ConvNet(nn.Module):
    """Features (B, T, F) -> outputs (B, T, n_out) through dilated residual convolutions."""

    def __init__(self, n_in: int, cfg: PerformerConfig, n_out: int):
        super().__init__()
        self.inp = nn.Linear(n_in, cfg.hidden)
        self.blocks = nn.Sequential(*[Block(cfg.hidden, cfg.kernel, 2**i, cfg.dropout)
                                      for i in range(cfg.blocks)])
        self.pool = nn.Linear(cfg.hidden, cfg.hidden) if cfg.pool else None
        self.out = nn.Sequential(nn.GELU(), nn.Linear(cfg.hidden, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.inp(x).transpose(1, 2)).transpose(1, 2)  # (B, T, C)
        if self.pool is not None:
            h = h + self.pool(h.mean(dim=1, keepdim=True))  # the piece's mean, everywhere
        return self.out(h)  # (B, T, n_out)


class SeqNet(nn.Module):
    """Features (B, T, F) -> outputs (B, T, n_out) through a bidirectional GRU."""

    def __init__(self, n_in: int, hidden: int, layers: int, dropout: float, n_out: int):
        super().__init__()
        self.inp = nn.Sequential(nn.Linear(n_in, hidden), nn.GELU())
        self.gru = nn.GRU(hidden, hidden, num_layers=layers, batch_first=True,
                          bidirectional=True, dropout=dropout if layers > 1 else 0.0)
        self.out = nn.Sequential(nn.Linear(2 * hidden + hidden, hidden), nn.GELU(),
                                 nn.Linear(hidden, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)  # (B, T, H)
        g, _ = self.gru(h)  # (B, T, 2H)
        return self.out(torch.cat([g, h], dim=-1))  # (B, T, n_out)


class Performer(nn.Module):
    def __init__(self, cfg: PerformerConfig):
        super().__init__()
        self.cfg = cfg
        if cfg.arch == "conv":
            self.notes = ConvNet(cfg.note_features, cfg, 1)
            self.steps = ConvNet(cfg.step_features, cfg, 2)
        else:
            self.notes = SeqNet(cfg.note_features, cfg.hidden, cfg.layers, cfg.dropout, 1)
            self.steps = SeqNet(cfg.step_features, cfg.hidden, cfg.layers, cfg.dropout, 2)

    def velocity(self, notes: torch.Tensor) -> torch.Tensor:
        """(B, N, F) -> (B, N) velocity on the 0..127 scale (unclipped)."""
        return VEL_CENTER + VEL_SCALE * self.notes(notes)[..., 0]

    def pedal(self, steps: torch.Tensor) -> torch.Tensor:
        """(B, S, F) -> (B, S, 2) logits of (down, press)."""
        return self.steps(steps)
