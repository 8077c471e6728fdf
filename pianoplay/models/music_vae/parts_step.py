"""A chord-token VAE decoder as a step function, the contract of :mod:`pianoplay.decoding.step`.

One step is an explicit LSTM cell over fused weights (the same weights as training):
the frame part of the input projection is folded into a per-token table, the
conditioning part is applied once per segment, and one matmul of h gives both the
next step's recurrent gates and the logits: ~10x faster on a CPU than an ``nn.LSTM``
call per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pianoplay.decoding.step import Start, State

UNK_ID = 0


@dataclass(frozen=True)
class FusedCell:
    """A frame decoder's weights split for one-step decoding (E frame embedding,
    C conditioning, H hidden, V tokens)."""

    w_frame: torch.Tensor  # (E, 4H) input gates of an embedded frame
    w_cond: torch.Tensor  # (C, 4H) input gates of the conditioning
    w_out: torch.Tensor  # (H, 4H + V) h -> next step's recurrent gates, then logits
    bias: torch.Tensor  # (4H,) both LSTM biases
    head_bias: torch.Tensor  # (V,)
    token_gates: torch.Tensor  # (V, 4H) input gates of every token's frame
    bos_gates: torch.Tensor  # (4H,) input gates of the start symbol

    @classmethod
    def of(cls, decoder, frame_matrix: torch.Tensor) -> FusedCell:
        lstm, E = decoder.lstm, decoder.bos.numel()
        w_ih, w_hh = lstm.weight_ih_l0, lstm.weight_hh_l0  # (4H, E + C), (4H, H)
        w_frame, w_cond = w_ih[:, :E], w_ih[:, E:]
        # Contiguous transposes: a strided right operand makes each step's matmul slow.
        return cls(
            w_frame=w_frame.T.contiguous(),
            w_cond=w_cond.T.contiguous(),
            w_out=torch.cat([w_hh.T, decoder.head.weight.T], dim=1).contiguous(),
            bias=lstm.bias_ih_l0 + lstm.bias_hh_l0,
            head_bias=decoder.head.bias,
            token_gates=decoder.embed(frame_matrix) @ w_frame.T,
            bos_gates=decoder.bos @ w_frame.T,
        )


class FrameSteps:
    """``step(state, tokens) -> (logits, state)`` and ``start`` for z (B, D) decoded
    ``steps`` frames long by ``decoder`` (a
    :class:`~pianoplay.models.music_vae.decoders.FrameDecoder`).

    State, batch on dim 1: ``h``, ``c`` (1, B, H) the LSTM's; ``rec`` (1, B, 4H) h's
    recurrent gates (computed with the logits); ``cond`` (1, B, 4H) the current segment's
    input gates; ``t`` (1, B) the position of the next frame (all rows advance together);
    ``segs`` (S, B, C) every segment's conditioning (``decoder.segments``: z for the flat
    decoder, one embedding per bar under the conductor). Where a segment begins, the
    LSTM restarts from its conditioning.

    The frame fed back for an UNK token is drawn from the decoder's Bernoulli head with
    ``unk_gen`` (thresholded at 0.5 without one) and kept by position for :meth:`rolls`,
    so use it with strategies that keep each row in place (sample, top-k, top-p, greedy).
    """

    def __init__(self, decoder, cell: FusedCell, frame_matrix: torch.Tensor, z: torch.Tensor,
                 steps: int, unk_gen: torch.Generator | None = None) -> None:
        self.decoder, self.cell, self.frame_matrix = decoder, cell, frame_matrix
        self.unk_gen = unk_gen
        self.H = decoder.lstm.hidden_size
        segs, self.segment = decoder.segments(z, steps)  # (S, B, C), frames per segment
        self.unk: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # pos -> rows (B,), frames
        self.last_h = None  # (B, H) of the latest position, for an UNK in the last one
        t = torch.zeros(1, z.size(0), dtype=torch.long, device=z.device)
        self.start: Start = self._advance(cell.bos_gates.expand(z.size(0), -1), (t, segs))

    def step(self, state: State, tokens: torch.Tensor) -> tuple[torch.Tensor, State]:
        """tokens (B,) emitted at the last position -> logits (B, V) of the next, state."""
        frame_gates = self.cell.token_gates[tokens]  # (B, 4H)
        unk = tokens == UNK_ID
        if unk.any():
            frames = self._unk_frames(state[0][0][unk])
            self.unk[int(state[4][0, 0]) - 1] = (unk, frames)
            frame_gates[unk] = self.decoder.embed(frames) @ self.cell.w_frame
        return self._advance(frame_gates, state)

    def rolls(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T) decoded with :meth:`step` -> rolls (B, T, 88) float, an UNK
        token's frame the one fed back (the last position's drawn now)."""
        rolls = self.frame_matrix[tokens]  # (B, T, 88)
        last = tokens.size(1) - 1
        unk = tokens[:, last] == UNK_ID
        if last not in self.unk and unk.any():
            self.unk[last] = (unk, self._unk_frames(self.last_h[unk]))
        for pos, (rows, frames) in self.unk.items():
            rolls[rows, pos] = frames
        return rolls

    def _advance(self, frame_gates: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One cell step on the input gates of the frame just emitted (B, 4H)."""
        t, segs = state[-2:]
        pos, H, cell = int(t[0, 0]), self.H, self.cell
        if pos == 0 or (self.segment and pos % self.segment == 0):
            h, c, rec, cond = self._fresh(segs[pos // self.segment if self.segment else 0])
        else:
            h, c, rec, cond = (s[0] for s in state[:4])
        gates = frame_gates + cond + rec  # (B, 4H)
        sig = torch.sigmoid(gates)
        c = sig[:, H : 2 * H] * c + sig[:, :H] * torch.tanh(gates[:, 2 * H : 3 * H])
        h = sig[:, 3 * H :] * torch.tanh(c)  # (B, H)
        out = h @ cell.w_out  # (B, 4H + V): next step's recurrent gates, then logits
        rec, logits = out[:, : 4 * H], out[:, 4 * H :] + cell.head_bias
        self.last_h = h
        return logits, (h[None], c[None], rec[None], cond[None], t + 1, segs)

    def _fresh(self, seg: torch.Tensor):
        """A segment's conditioning (B, C) -> h, c (B, H), rec, cond gates (B, 4H)."""
        h, c = (s[0] for s in self.decoder.initial_state(seg))
        return h, c, h @ self.cell.w_out[:, : 4 * self.H], seg @ self.cell.w_cond + self.cell.bias

    def _unk_frames(self, h: torch.Tensor) -> torch.Tensor:
        """h (n, H) of UNK tokens -> their frames (n, 88) float."""
        p = torch.sigmoid(self.decoder.unk_head(h))
        if self.unk_gen is None:
            return (p > 0.5).float()
        return torch.bernoulli(p, generator=self.unk_gen)
