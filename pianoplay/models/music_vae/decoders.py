"""Decoders of the chord-token MusicVAE, chosen by name (``VAEConfig.decoder``).

A decoder is an autoregressive LSTM over frames, conditioned on ``cond`` through its
initial state and every input. What ``cond`` is tells the decoders apart:

- ``flat``: z itself, one run over the whole window;
- ``conductor``: a conductor LSTM turns z into one embedding per bar, and the frame
  LSTM restarts from each bar's embedding (MusicVAE's hierarchical decoder); the
  previous frame still flows in across bar lines.

Every decoder offers::

    decoder(z (B, D), roll (B, T, 88)) -> hidden (B, T, H)    teacher forcing: position t
                                                               has seen frames < t
    decoder.segments(z (B, D), steps) -> cond (S, B, C), length
        the conditioning of each run of ``length`` frames (0: one run for all ``steps``)
    decoder.step_function(z, steps, frame_matrix, unk_gen) -> FrameSteps
        the ``step(state, tokens) -> (logits, state)`` of :mod:`pianoplay.decoding`

and ``head`` (chord-token logits (..., V)) and ``unk_head`` (88 Bernoulli logits of a
frame outside the vocabulary), both reading the hidden states. ``DECODERS`` is the one
list of them.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from pianoplay.models.derived import derived
from pianoplay.models.music_vae.encoders import FrameEmbedding
from pianoplay.models.music_vae.parts_step import FrameSteps, FusedCell


class FrameDecoder(nn.Module):
    """The frame LSTM and its heads; subclasses say what conditions it (``cond_dim`` wide)."""

    def __init__(self, cfg, cond_dim: int) -> None:
        super().__init__()
        self._build(cfg, cond_dim)

    def _build(self, cfg, cond_dim: int) -> None:
        self.word_dropout = cfg.word_dropout
        self.embed = FrameEmbedding(cfg.n_keys, cfg.frame_dim)
        self.bos = nn.Parameter(torch.zeros(cfg.frame_dim))
        self.init = nn.Linear(cond_dim, 2 * cfg.dec_hidden)
        self.lstm = nn.LSTM(cfg.frame_dim + cond_dim, cfg.dec_hidden, batch_first=True)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.dec_hidden, cfg.n_out)  # chord-token logits
        self.unk_head = nn.Linear(cfg.dec_hidden, cfg.n_keys)  # Bernoulli logits for UNK frames

    def initial_state(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """cond (N, C) -> the LSTM's (h, c), each (1, N, H)."""
        h, c = torch.tanh(self.init(cond)).chunk(2, dim=-1)  # (N, H) each
        return h.unsqueeze(0).contiguous(), c.unsqueeze(0).contiguous()

    def run(self, prev: torch.Tensor, cond: torch.Tensor, state=None):
        """prev (N, T, E) embedded previous frames, cond (N, C) -> hidden (N, T, H), state."""
        if state is None:
            state = self.initial_state(cond)
        inp = torch.cat([prev, cond.unsqueeze(1).expand(-1, prev.size(1), -1)], dim=-1)
        out, state = self.lstm(self.drop(inp), state)
        return self.drop(out), state

    def inputs(self, roll: torch.Tensor) -> torch.Tensor:
        """roll (B, T, 88) -> the embedded previous frames (B, T, E), start symbol first;
        in training each is zeroed with probability ``word_dropout`` (Bowman et al.), so
        the decoder must take what it cannot see from z."""
        B, T, _ = roll.shape
        emb = self.embed(roll[:, :-1])  # (B, T-1, E)
        prev = torch.cat([self.bos.expand(B, 1, -1), emb], dim=1)  # (B, T, E)
        if self.training and self.word_dropout > 0:
            keep = torch.rand(B, T, 1, device=prev.device) >= self.word_dropout
            prev = prev * keep
        return prev

    def step_function(
        self,
        z: torch.Tensor,
        steps: int,
        frame_matrix: torch.Tensor,
        unk_gen: torch.Generator | None = None,
    ) -> FrameSteps:
        """This decoder as a step function for z (B, D) and ``steps`` frames (see
        :class:`~pianoplay.models.music_vae.parts_step.FrameSteps`). ``frame_matrix`` (V, 88):
        each token's frame, fixed for a model (its fused weights are cached until a
        parameter changes)."""
        cell = derived(self, "_fused_cell", lambda: FusedCell.of(self, frame_matrix))
        return FrameSteps(self, cell, frame_matrix, z, steps, unk_gen)


class FlatDecoder(FrameDecoder):
    """One run over the window, conditioned on z."""

    def __init__(self, cfg) -> None:
        super().__init__(cfg, cfg.latent_dim)

    def forward(self, z: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
        """z (B, D), roll (B, T, 88) -> hidden (B, T, H)."""
        out, _ = self.run(self.inputs(roll), z)
        return out

    def segments(self, z: torch.Tensor, steps: int) -> tuple[torch.Tensor, int]:
        return z.unsqueeze(0), 0  # (1, B, D): z for every frame


class Conductor(nn.Module):
    """z (B, D) -> one embedding per bar (B, n_bars, C)."""

    def __init__(self, cfg) -> None:
        super().__init__()
        self.init = nn.Linear(cfg.latent_dim, 2 * cfg.cond_hidden)
        self.lstm = nn.LSTM(cfg.latent_dim, cfg.cond_hidden, batch_first=True)
        self.out = nn.Linear(cfg.cond_hidden, cfg.cond_dim)

    def forward(self, z: torch.Tensor, n_bars: int) -> torch.Tensor:
        h0, c0 = torch.tanh(self.init(z)).chunk(2, dim=-1)  # (B, H) each
        inp = z.unsqueeze(1).expand(-1, n_bars, -1)  # (B, n_bars, D)
        out, _ = self.lstm(inp, (h0.unsqueeze(0).contiguous(), c0.unsqueeze(0).contiguous()))
        return torch.tanh(self.out(out))  # (B, n_bars, C)


class ConductorDecoder(FrameDecoder):
    """The frame LSTM below a conductor: each bar decoded from a fresh state made from
    that bar's embedding."""

    def __init__(self, cfg) -> None:
        nn.Module.__init__(self)
        # Registered before the frame LSTM, as when the conductor sat beside the decoder:
        # the parameters keep their order, by which saved optimiser states are indexed.
        self.conductor = Conductor(cfg)
        self.steps_per_bar = cfg.steps_per_bar
        self._build(cfg, cfg.cond_dim)

    def forward(self, z: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
        """z (B, D), roll (B, T, 88) -> hidden (B, T, H)."""
        prev = self.inputs(roll)  # (B, T, E)
        B, T, _ = prev.shape
        S = self.steps_per_bar
        n_bars = math.ceil(T / S)
        pad = n_bars * S - T
        if pad:
            prev = F.pad(prev, (0, 0, 0, pad))
        bars = self.conductor(z, n_bars)  # (B, n_bars, C)
        # Each bar is decoded from a fresh state; the previous frame still flows in.
        out, _ = self.run(prev.reshape(B * n_bars, S, -1), bars.reshape(B * n_bars, -1))
        return out.reshape(B, n_bars * S, -1)[:, :T]

    def segments(self, z: torch.Tensor, steps: int) -> tuple[torch.Tensor, int]:
        bars = self.conductor(z, math.ceil(steps / self.steps_per_bar))  # (B, n_bars, C)
        return bars.transpose(0, 1), self.steps_per_bar  # (n_bars, B, C)


DECODERS = {"flat": FlatDecoder, "conductor": ConductorDecoder}
