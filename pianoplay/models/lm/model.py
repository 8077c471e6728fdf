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
from pianoplay.decoding.step import Narrow

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
    hands: bool = False  # two tokens per frame, right hand then left (music.hand_vocab)

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
        hand_of: torch.Tensor | None = None,
        hand_keys: torch.Tensor | None = None,
    ):
        """``frame_matrix``: (n_out, 88) 0/1 roll of each output id (row 0 = UNK).
        ``key_probs``: (88,) the vocabulary's fixed Bernoulli, used when ``unk_head`` is off.
        With ``config.hands``: ``hand_of`` (n_out,) the hand of each id (0 right, 1 left, -1
        UNK) and ``hand_keys`` (2, 88) each hand's keys (``HandVocab``)."""
        super().__init__()
        c = self.config = config
        assert frame_matrix.shape == (c.n_out, N_KEYS)
        self.register_buffer("frames", frame_matrix.float(), persistent=False)  # (V+1, 88)
        if c.hands:
            assert hand_of is not None and hand_keys is not None
            allowed = (hand_of[None] == torch.arange(2)[:, None]) | (hand_of[None] < 0)
            self.register_buffer("allowed", allowed, persistent=False)  # (2, n_out)
            self.register_buffer("hand_keys", hand_keys.bool(), persistent=False)  # (2, 88)
            self.register_buffer("hand_of", hand_of.long(), persistent=False)  # (n_out,)
            ids = [torch.nonzero(hand_of == k).flatten() for k in range(2)]
            self.hand_span = [(int(i.min()), int(i.max()) + 1) for i in ids]  # contiguous ids
            assert all(hi - lo == len(i) for (lo, hi), i in zip(self.hand_span, ids))
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

    def logits(
        self, h: torch.Tensor, out_vectors: torch.Tensor | None = None, hand=None
    ) -> torch.Tensor:
        """(..., H) -> (..., n_out). Pass ``out_vectors()`` to reuse it across steps.
        ``hand`` (...,) long (hand models): the other hand's ids get -inf."""
        if self.config.tie_weights:
            w = self.out_vectors() if out_vectors is None else out_vectors
            out = self.proj(h) @ w.T + self.out_bias
        else:
            out = self.lm_head(h)
        if hand is not None:
            out = out.masked_fill(~self.allowed[hand], float("-inf"))
        return out

    def hand_outputs(self, out_vectors: torch.Tensor | None) -> list[tuple]:
        """For each hand (0 right, 1 left): its output ids (K,) (UNK, then the hand's
        chords), their output weights (E or H, K) and biases (K,), for :meth:`hand_logits`.
        ``out_vectors``: :meth:`out_vectors` (tied weights) or ``None`` (an untied head)."""
        out = []
        for lo, hi in self.hand_span:
            ids = torch.cat([torch.zeros(1, dtype=torch.long), torch.arange(lo, hi)])
            ids = ids.to(self.hand_of.device)
            if out_vectors is None:
                w, b = self.lm_head.weight[ids], self.lm_head.bias[ids]
            else:
                w, b = out_vectors[ids], self.out_bias[ids]
            out.append((ids, w.T.contiguous(), b))
        return out

    def hand_logits(self, h: torch.Tensor, hand_output: tuple):
        """Decoding a hand model, every row at the same hand: (B, H) -> Narrow logits of
        UNK and that hand's ids only (every other id is at -inf), half the work.
        ``hand_output``: that hand's entry of :meth:`hand_outputs`."""
        ids, w, b = hand_output
        x = self.proj(h) if self.config.tie_weights else h
        return Narrow(torch.addmm(b, x, w), ids)

    def positions_hand(self, shape, offset: int = 0, device=None) -> torch.Tensor | None:
        """(B, T) hand of each target position of a hand model (right at even token
        positions counted from ``offset``); ``None`` for a one-token-per-frame model."""
        if not self.config.hands:
            return None
        t = torch.arange(offset, offset + shape[1], device=device) % 2
        return t[None].expand(shape[0], -1)

    def unk_log_prob(self, h: torch.Tensor, x: torch.Tensor, hand=None) -> torch.Tensor:
        """h (N, H), x (N, 88) frames outside the vocabulary -> (N,) log p(x | UNK, h).

        Bernoulli q with logits a: log q(x) = x.a + sum_k log sigmoid(-a_k), so the mass
        on every known frame is one (N, 88) x (88, V) matmul. Float64: 1 - Q_V can be small.
        A hand model (``hand`` (N,)) spreads UNK over the hand's keys and renormalises it to
        the hand's unknown chords.
        """
        if self.config.unk_head:
            a = self.unk_head(h).double()  # (N, 88)
        else:
            a = self.unk_logits.double().expand(len(h), N_KEYS)
        if hand is not None:  # the other hand's keys are off
            a = a.masked_fill(~self.hand_keys[hand], -40.0)
        base = F.logsigmoid(-a).sum(-1)  # (N,) log q(silence)
        log_qx = (x.double() * a).sum(-1) + base
        log_q_known = a @ self.frames[1:].double().T + base[:, None]  # (N, V)
        if hand is not None:
            log_q_known = log_q_known.masked_fill(~self.allowed[hand][:, 1:], float("-inf"))
        log_qv = torch.logsumexp(log_q_known, -1).clamp(max=-1e-12)
        return (log_qx - log1mexp(log_qv)).float()

    def unk_bernoulli_nll(
        self, h: torch.Tensor, frames: torch.Tensor, offset: int = 0
    ) -> torch.Tensor:
        """(B, T, H), target frames (B, T, 88) -> (B, T) -log q(frame | h), unnormalised by
        the known frames. A training aid: fitting q on *every* frame teaches the UNK head
        far more than the ~1% of frames that are UNK. A hand model scores each hand's keys."""
        if not self.config.unk_head:
            return torch.zeros(frames.shape[:2], device=frames.device)
        a = self.unk_head(h).float()
        bce = F.binary_cross_entropy_with_logits(a, frames.float(), reduction="none")
        hand = self.positions_hand(frames.shape[:2], offset, frames.device)
        if hand is not None:
            bce = bce * self.hand_keys[hand]
        return bce.sum(-1)

    def frame_log_prob(
        self, h: torch.Tensor, tokens: torch.Tensor, frames: torch.Tensor, offset: int = 0
    ) -> torch.Tensor:
        """Exact log p of each target token: h (B, T, H), target ids (B, T), target
        frames (B, T, 88) -> (B, T). One token per frame: log p(frame). A hand model: log p
        of each hand's chord (a frame's log p is the sum of its two tokens'); ``offset`` is the
        token position of column 0 (even: a right-hand token)."""
        hand = self.positions_hand(tokens.shape, offset, tokens.device)
        logp = F.log_softmax(self.logits(h, hand=hand).float(), -1)
        lp = logp.gather(-1, tokens[..., None]).squeeze(-1)  # (B, T)
        unk = tokens == 0
        if unk.any():
            extra = self.unk_log_prob(h[unk], frames[unk], None if hand is None else hand[unk])
            lp = lp.masked_scatter(unk, lp[unk] + extra)
        return lp
