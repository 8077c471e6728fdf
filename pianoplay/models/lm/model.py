"""Chord-LSTM: a language model whose tokens are whole frames.

Each frame (the set of keys sounding at a step) is one token of a
:class:`~pianoplay.music.vocab.ChordVocab`. The model reads the previous frame and
predicts a softmax over ``UNK + known frames``. UNK's mass is spread over the
frames *outside* the vocabulary by an 88-key Bernoulli ``q(x | h)`` predicted
from the LSTM state and renormalised to those frames::

    log p(x | h) = log softmax(h)[v]                                x = frame v
                 = log softmax(h)[UNK] + log q(x|h) - log(1 - Q_V(h))   x unknown

with ``Q_V(h) = sum_v q(v | h)`` over the known frames, computed exactly from
the (V, 88) frame matrix. So the model is a proper distribution over all 2**88
frames and its NLL is exact. With ``unk_head=False`` the spread is the fixed
Bernoulli of the vocabulary (``ChordVocab.unk_logprob``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from pianoplay.config_io import from_dict

N_KEYS = 88


@dataclass
class ChordLSTMConfig:
    n_out: int = 1254  # UNK + known frames (ChordVocab.n_out); input id n_out is BOS
    n_embd: int = 256
    n_hidden: int = 512
    n_layer: int = 2
    dropout: float = 0.3
    tie_weights: bool = True  # output vectors = input vectors of the frames
    key_features: bool = True  # a frame's vector also sums learned vectors of its keys
    unk_head: bool = True  # context-dependent UNK spread (else the vocabulary's fixed one)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "model") -> ChordLSTMConfig:
        return from_dict(cls, d, where)


def log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(x)) for x < 0, stable at both ends (Maechler 2012)."""
    return torch.where(x > -math.log(2), torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))


class ChordLSTM(nn.Module):
    def __init__(
        self,
        config: ChordLSTMConfig,
        frame_matrix: torch.Tensor,
        key_probs: torch.Tensor | None = None,
    ):
        """``frame_matrix``: (n_out, 88) 0/1 roll of each output id (row 0 = UNK).
        ``key_probs``: (88,) the vocabulary's fixed Bernoulli, used when ``unk_head`` is off."""
        super().__init__()
        c = self.config = config
        assert frame_matrix.shape == (c.n_out, N_KEYS)
        self.register_buffer("frames", frame_matrix.float(), persistent=False)  # (V+1, 88)
        self.wte = nn.Embedding(c.n_out + 1, c.n_embd)  # + BOS
        self.wke = nn.Linear(N_KEYS, c.n_embd, bias=False) if c.key_features else None
        self.drop = nn.Dropout(c.dropout)
        self.lstm = nn.LSTM(
            c.n_embd,
            c.n_hidden,
            c.n_layer,
            batch_first=True,
            dropout=c.dropout if c.n_layer > 1 else 0.0,
        )
        if c.tie_weights:
            self.proj = nn.Linear(c.n_hidden, c.n_embd)
            self.out_bias = nn.Parameter(torch.zeros(c.n_out))
        else:
            self.lm_head = nn.Linear(c.n_hidden, c.n_out)
        if c.unk_head:
            self.unk_head = nn.Linear(c.n_hidden, N_KEYS)
            nn.init.constant_(self.unk_head.bias, -3.0)  # keys are mostly off
        else:
            p = key_probs if key_probs is not None else torch.full((N_KEYS,), 0.05)
            self.register_buffer(
                "unk_logits",
                torch.logit(p.double().clamp(1e-6, 1 - 1e-6)).float(),
                persistent=False,
            )
        nn.init.normal_(self.wte.weight, std=0.1)

    # embeddings ---------------------------------------------------------
    def embed(self, tokens: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """tokens (B, T) ids incl. BOS, frames (B, T, 88) their actual keys -> (B, T, E).
        An UNK input keeps its notes through the key vectors."""
        x = self.wte(tokens)
        if self.wke is not None:
            x = x + self.wke(frames.float())
        return x

    def out_vectors(self) -> torch.Tensor:
        """(n_out, E) output vector of each id, tied to the input embedding."""
        w = self.wte.weight[: self.config.n_out]
        if self.wke is not None:
            w = w + self.frames @ self.wke.weight.T
        return w

    # forward ------------------------------------------------------------
    def forward(self, tokens: torch.Tensor, frames: torch.Tensor, state=None):
        """tokens (B, T), frames (B, T, 88) -> hidden (B, T, H), new LSTM state."""
        x = self.drop(self.embed(tokens, frames))
        h, state = self.lstm(x, state)
        return self.drop(h), state

    def logits(self, h: torch.Tensor, out_vectors: torch.Tensor | None = None) -> torch.Tensor:
        """(..., H) -> (..., n_out). Pass ``out_vectors()`` to reuse it across steps."""
        if self.config.tie_weights:
            w = self.out_vectors() if out_vectors is None else out_vectors
            return self.proj(h) @ w.T + self.out_bias
        return self.lm_head(h)

    def unk_log_prob(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """h (N, H), x (N, 88) frames outside the vocabulary -> (N,) log p(x | UNK, h).

        Bernoulli q with logits a: log q(x) = x.a + sum_k log sigmoid(-a_k), so the mass
        on every known frame is one (N, 88) x (88, V) matmul. Float64: 1 - Q_V can be small.
        """
        if self.config.unk_head:
            a = self.unk_head(h).double()  # (N, 88)
        else:
            a = self.unk_logits.double().expand(len(h), N_KEYS)
        base = F.logsigmoid(-a).sum(-1)  # (N,) log q(silence)
        log_qx = (x.double() * a).sum(-1) + base
        log_q_known = a @ self.frames[1:].double().T + base[:, None]  # (N, V)
        log_qv = torch.logsumexp(log_q_known, -1).clamp(max=-1e-12)
        return (log_qx - log1mexp(log_qv)).float()

    def unk_bernoulli_nll(self, h: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """(B, T, H), target frames (B, T, 88) -> (B, T) -log q(frame | h), unnormalised by
        the known frames. A training aid: fitting q on *every* frame teaches the UNK head
        far more than the ~1% of frames that are UNK."""
        if not self.config.unk_head:
            return torch.zeros(frames.shape[:2], device=frames.device)
        a = self.unk_head(h).float()
        return F.binary_cross_entropy_with_logits(a, frames.float(), reduction="none").sum(-1)

    def frame_log_prob(
        self, h: torch.Tensor, tokens: torch.Tensor, frames: torch.Tensor
    ) -> torch.Tensor:
        """Exact log p(frame) of each target: h (B, T, H), target ids (B, T), target
        frames (B, T, 88) -> (B, T)."""
        logp = F.log_softmax(self.logits(h).float(), -1)
        lp = logp.gather(-1, tokens[..., None]).squeeze(-1)  # (B, T)
        unk = tokens == 0
        if unk.any():
            lp = lp.masked_scatter(unk, lp[unk] + self.unk_log_prob(h[unk], frames[unk]))
        return lp
