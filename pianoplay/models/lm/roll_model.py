"""Roll-LSTM: the classic piano-roll LSTM baseline.

The next frame is 88 independent Bernoullis given the LSTM state, so
``log p(x | h) = sum_k x_k log s(a_k) + (1 - x_k) log s(-a_k)`` is exact.
Same inputs as the chord-LSTM (previous frame, start symbol first) so one
training loop and one evaluator serve both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from pianoplay.config_io import from_dict

N_KEYS = 88


@dataclass
class RollLSTMConfig:
    n_embd: int = 128
    n_hidden: int = 256
    n_layer: int = 2
    dropout: float = 0.3

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "model") -> RollLSTMConfig:
        return from_dict(cls, d, where)


class RollLSTM(nn.Module):
    def __init__(self, config: RollLSTMConfig):
        super().__init__()
        c = self.config = config
        self.wke = nn.Linear(N_KEYS, c.n_embd)
        self.bos = nn.Parameter(torch.zeros(c.n_embd))  # start symbol, distinct from silence
        self.drop = nn.Dropout(c.dropout)
        self.lstm = nn.LSTM(c.n_embd, c.n_hidden, c.n_layer, batch_first=True,
                            dropout=c.dropout if c.n_layer > 1 else 0.0)
        self.head = nn.Linear(c.n_hidden, N_KEYS)
        nn.init.constant_(self.head.bias, -3.0)  # keys are mostly off: start near p = 0.05

    def forward(self, bos: torch.Tensor, frames: torch.Tensor, state=None):
        """bos (B, T) bool, True where the input is the start symbol; frames (B, T, 88)
        previous frames -> hidden (B, T, H), new state."""
        x = self.wke(frames.float()) + bos[..., None].float() * self.bos
        h, state = self.lstm(self.drop(x), state)
        return self.drop(h), state

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """(..., H) -> (..., 88) Bernoulli logits of the next frame."""
        return self.head(h)

    def frame_log_prob(
        self, h: torch.Tensor, tokens, frames: torch.Tensor, offset: int = 0
    ) -> torch.Tensor:
        """h (B, T, H), target frames (B, T, 88) -> (B, T) exact log p. ``tokens`` and
        ``offset`` (a hand model's position parity) unused."""
        a = self.logits(h).float()
        return -F.binary_cross_entropy_with_logits(a, frames.float(), reduction="none").sum(-1)
