"""LSTM-VAE over piano-roll windows (MusicVAE-style), one frame = one chord token.

Encoder: frame embedding -> bidirectional LSTM -> (mu, logvar) of a diagonal
Gaussian posterior q(z | x). Decoder: an LSTM whose initial state comes from z
and which sees z at every step, optionally below a hierarchical "conductor"
that turns z into one embedding per bar and re-initialises the decoder each bar.

The per-frame output models the 88 keys *jointly*: a softmax over the chord
vocabulary (``pianoplay.music.vocab.ChordVocab``), whose UNK class is spread over all
frames outside the vocabulary by a context-dependent 88-key Bernoulli head,
renormalised to those frames, so the likelihood is exact::

    log p(x_t | .) = log softmax(logits)[tok]                       x_t known
                   = log softmax(logits)[UNK] + u.x - sum softplus(u)
                     - log(1 - Q_V(u))                              x_t unknown

where ``u`` are the Bernoulli logits and ``Q_V(u)`` the Bernoulli mass on the
vocabulary frames (computed exactly, in log space).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence

from pianoplay.config_io import from_dict
from pianoplay.models.derived import derived

UNK_ID = 0


@dataclass
class VAEConfig:
    n_out: int = 1254  # vocabulary classes incl. UNK (ChordVocab.n_out)
    n_keys: int = 88
    frame_dim: int = 128  # frame embedding: a linear map of the 88-key multi-hot
    enc_hidden: int = 256  # per direction
    latent_dim: int = 64
    dec_hidden: int = 512
    conductor: bool = False  # hierarchical decoder: one embedding per bar
    cond_hidden: int = 256
    cond_dim: int = 128  # bar embedding size fed to the bottom decoder
    steps_per_bar: int = 8
    max_steps: int = 128  # window length the model is trained for
    dropout: float = 0.2
    # p(frame | UNK) = unk_mix * context head + (1 - unk_mix) * the vocabulary's global
    # Bernoulli (both renormalised to unknown frames). The context head only learns from
    # UNK frames in the training windows, and with vocab_min_count=1 and no transposition
    # there are none, so it stays at its initialisation: 0 uses the global Bernoulli only.
    unk_mix: float = 0.0
    # Training only: each previous-frame input is zeroed with this probability (Bowman et
    # al.'s word dropout), so the decoder must take what it cannot see from z.
    word_dropout: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "model") -> VAEConfig:
        return from_dict(cls, d, where)


class FrameEmbedding(nn.Module):
    """(B, T, 88) multi-hot -> (B, T, E). A linear map of the keys, so frames
    outside the vocabulary keep their full content as inputs."""

    def __init__(self, n_keys: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(n_keys, dim)

    def forward(self, roll: torch.Tensor) -> torch.Tensor:
        return self.proj(roll.float())


class Encoder(nn.Module):
    def __init__(self, cfg: VAEConfig) -> None:
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


class Conductor(nn.Module):
    """z (B, D) -> one embedding per bar (B, n_bars, C)."""

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        self.init = nn.Linear(cfg.latent_dim, 2 * cfg.cond_hidden)
        self.lstm = nn.LSTM(cfg.latent_dim, cfg.cond_hidden, batch_first=True)
        self.out = nn.Linear(cfg.cond_hidden, cfg.cond_dim)

    def forward(self, z: torch.Tensor, n_bars: int) -> torch.Tensor:
        h0, c0 = torch.tanh(self.init(z)).chunk(2, dim=-1)  # (B, H) each
        inp = z.unsqueeze(1).expand(-1, n_bars, -1)  # (B, n_bars, D)
        out, _ = self.lstm(inp, (h0.unsqueeze(0).contiguous(), c0.unsqueeze(0).contiguous()))
        return torch.tanh(self.out(out))  # (B, n_bars, C)


class Decoder(nn.Module):
    """Autoregressive LSTM over frames, conditioned on ``cond`` (z, or the bar
    embedding under a conductor) through its initial state and every input."""

    def __init__(self, cfg: VAEConfig, cond_dim: int) -> None:
        super().__init__()
        self.embed = FrameEmbedding(cfg.n_keys, cfg.frame_dim)
        self.bos = nn.Parameter(torch.zeros(cfg.frame_dim))
        self.init = nn.Linear(cond_dim, 2 * cfg.dec_hidden)
        self.lstm = nn.LSTM(cfg.frame_dim + cond_dim, cfg.dec_hidden, batch_first=True)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.dec_hidden, cfg.n_out)  # chord-token logits
        self.unk_head = nn.Linear(cfg.dec_hidden, cfg.n_keys)  # Bernoulli logits for UNK frames

    def initial_state(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = torch.tanh(self.init(cond)).chunk(2, dim=-1)  # (N, H) each
        return h.unsqueeze(0).contiguous(), c.unsqueeze(0).contiguous()

    def forward(self, prev: torch.Tensor, cond: torch.Tensor, state=None):
        """prev (N, T, E) embedded previous frames, cond (N, C) ->
        hidden (N, T, H), new state."""
        if state is None:
            state = self.initial_state(cond)
        inp = torch.cat([prev, cond.unsqueeze(1).expand(-1, prev.size(1), -1)], dim=-1)
        out, state = self.lstm(self.drop(inp), state)
        return self.drop(out), state


class MusicVAE(nn.Module):
    def __init__(self, cfg: VAEConfig, frame_matrix: torch.Tensor | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        if cfg.conductor:
            self.conductor = Conductor(cfg)
            self.decoder = Decoder(cfg, cfg.cond_dim)
        else:
            self.conductor = None
            self.decoder = Decoder(cfg, cfg.latent_dim)
        # (n_out, 88) roll of each token (row 0 = UNK = silence); saved with the weights.
        if frame_matrix is None:
            frame_matrix = torch.zeros(cfg.n_out, cfg.n_keys)
        self.register_buffer("frame_matrix", frame_matrix.float())
        # The global UNK Bernoulli comes from the vocabulary (set_unk_prior), not the weights.
        self.register_buffer("prior_logits", torch.zeros(cfg.n_keys), persistent=False)
        self.register_buffer("prior_log_norm", torch.zeros(()), persistent=False)

    def set_unk_prior(self, key_probs, log_unk_norm: float) -> None:
        """The vocabulary's per-key Bernoulli (``ChordVocab.key_probs``, (88,)) and its
        ``log(1 - Q_V)``, for the ``unk_mix`` mixture."""
        p = torch.as_tensor(key_probs, dtype=torch.float64)
        self.prior_logits = torch.log(p / (1 - p)).float().to(self.device)
        self.prior_log_norm = torch.tensor(
            torch.log1p(-p).sum().item() - float(log_unk_norm), device=self.device
        )

    @property
    def device(self) -> torch.device:
        return self.frame_matrix.device

    # ------------------------------------------------------------------ encode
    def encode(
        self, roll: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """roll (B, T, 88), lengths (B,) -> mu, logvar (B, D)."""
        return self.encoder(roll, lengths)

    # --------------------------------------------------------- teacher forcing
    def hidden(self, z: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
        """Teacher-forced decoder states: z (B, D), roll (B, T, 88) -> (B, T, H);
        position t has seen frames < t."""
        B, T, _ = roll.shape
        emb = self.decoder.embed(roll[:, :-1])  # (B, T-1, E)
        prev = torch.cat([self.decoder.bos.expand(B, 1, -1), emb], dim=1)  # (B, T, E)
        if self.training and self.cfg.word_dropout > 0:
            keep = torch.rand(B, T, 1, device=prev.device) >= self.cfg.word_dropout
            prev = prev * keep
        if self.conductor is None:
            out, _ = self.decoder(prev, z)
            return out
        S = self.cfg.steps_per_bar
        n_bars = math.ceil(T / S)
        pad = n_bars * S - T
        if pad:
            prev = F.pad(prev, (0, 0, 0, pad))
        bars = self.conductor(z, n_bars)  # (B, n_bars, C)
        # Each bar is decoded from a fresh state; the previous frame still flows in.
        out, _ = self.decoder(prev.reshape(B * n_bars, S, -1), bars.reshape(B * n_bars, -1))
        return out.reshape(B, n_bars * S, -1)[:, :T]

    def frame_logprob(
        self, h: torch.Tensor, roll: torch.Tensor, tokens: torch.Tensor
    ) -> torch.Tensor:
        """Exact log p(x_t | history, z) per frame: h (B, T, H), roll (B, T, 88),
        tokens (B, T) -> (B, T)."""
        logp = F.log_softmax(self.decoder.head(h).float(), dim=-1)  # (B, T, V)
        lp = logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)  # (B, T)
        unk = tokens == UNK_ID
        if unk.any():
            lp = lp.masked_scatter(unk, lp[unk] + self.unk_logprob(h[unk], roll[unk]))
        return lp

    def unk_logprob(self, h: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """log p(frame | UNK, context) for h (N, H), frames (N, 88) -> (N,).
        Bernoulli over keys, renormalised over the frames outside the vocabulary
        (in float64: the head can put nearly all its mass on known frames)."""
        u = self.decoder.unk_head(h).double()  # (N, 88)
        x = frames.double()
        base = -F.softplus(u).sum(-1)  # sum_k log sigmoid(-u_k)
        log_q = (x * u).sum(-1) + base  # (N,)
        known = self.frame_matrix[1:].double()  # (V-1, 88)
        log_qv = torch.logsumexp(u @ known.T, dim=-1) + base  # (N,) log Q_V
        # log(1 - Q_V); clamping Q_V down only makes the density sub-normalised,
        # so the NLL stays an upper bound.
        lp = log_q - torch.log(-torch.expm1(log_qv.clamp(max=-1e-12)))
        w = self.cfg.unk_mix
        if w < 1.0:
            # log q_prior(x) - log(1 - Q_V^prior): exact, from the vocabulary's statistics.
            glob = x @ self.prior_logits.double() + self.prior_log_norm.double()
            lp = torch.logaddexp(lp + math.log(w), glob + math.log1p(-w)) if w > 0 else glob
        return lp.float()

    def forward(
        self, roll: torch.Tensor, tokens: torch.Tensor, lengths: torch.Tensor, sample: bool = True
    ) -> dict[str, torch.Tensor]:
        """roll (B, T, 88), tokens (B, T), lengths (B,) -> per-frame log-probs
        (B, T) (padding included; mask it), per-sequence KL (B,), mu, logvar."""
        mu, logvar = self.encode(roll, lengths)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if sample else mu
        lp = self.frame_logprob(self.hidden(z, roll), roll, tokens)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)  # (B,)
        return {"logp": lp, "kl": kl, "mu": mu, "logvar": logvar, "z": z}

    # ------------------------------------------------------------- generation
    def _cell_weights(self):
        """Split the decoder LSTM's weights for fast one-step decoding: the
        frame part of the input projection is folded into a per-token table,
        and the conditioning part is applied once per sequence (or bar).
        Cached until a parameter changes (training bumps their versions)."""
        return derived(self, "_cell_cache", self._build_cell_weights)

    def _build_cell_weights(self):
        lstm, E = self.decoder.lstm, self.cfg.frame_dim
        w_ih, w_hh = lstm.weight_ih_l0, lstm.weight_hh_l0  # (4H, E + C), (4H, H)
        bias = lstm.bias_ih_l0 + lstm.bias_hh_l0
        w_frame, w_cond = w_ih[:, :E], w_ih[:, E:]
        token_gates = self.decoder.embed(self.frame_matrix) @ w_frame.T  # (V, 4H)
        bos_gates = self.decoder.bos @ w_frame.T  # (4H,)
        # h feeds both the next step's gates and the output head: one matmul for both.
        w_out = torch.cat([w_hh.T, self.decoder.head.weight.T], dim=1)  # (H, 4H + V)
        # Contiguous transposes: a strided right operand makes each step's matmul slow.
        return (
            w_frame.T.contiguous(),
            w_cond.T.contiguous(),
            w_out.contiguous(),
            bias,
            token_gates,
            bos_gates,
        )

    @torch.no_grad()
    def generate(
        self,
        z: torch.Tensor,
        steps: int,
        temperature: float = 1.0,
        greedy: bool = False,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Decode z (N, D) into rolls (N, steps, 88) float, one batched pass.

        ``greedy`` takes the most likely token each step (deterministic);
        otherwise tokens are sampled at ``temperature`` (Gumbel-max: the noise of
        every step is drawn up front, so a step is an add and an argmax). An UNK
        token is replaced by a frame drawn from the Bernoulli head (thresholded
        when greedy). Uses an explicit LSTM cell (same weights as training): one
        small matmul per step instead of a full ``nn.LSTM`` call, ~10x faster on a CPU.
        """
        N = z.size(0)
        S, H = self.cfg.steps_per_bar, self.decoder.lstm.hidden_size
        w_frame, w_cond, w_out, bias, token_gates, bos_gates = self._cell_weights()
        head_bias, unk_head = self.decoder.head.bias, self.decoder.unk_head
        V = token_gates.size(0)
        if greedy:
            noise = None
        else:  # logits / T + Gumbel noise, argmax = a sample of softmax(logits / T)
            u = torch.rand(steps, N, V, generator=generator).to(z.device)
            noise = -torch.log(-torch.log(u.clamp_(min=1e-20)))  # (steps, N, V)
            noise *= max(temperature, 1e-4)  # argmax(l / T + g) = argmax(l + T g)
        tokens = torch.empty(N, steps, dtype=torch.long, device=z.device)
        unk_frames = {}  # t -> (mask (N,), frames (n_unk, 88))
        bars = self.conductor(z, math.ceil(steps / S)) if self.conductor is not None else None
        frame_gates = bos_gates.expand(N, -1)
        for t in range(steps):
            if t == 0 or (bars is not None and t % S == 0):
                cond = z if bars is None else bars[:, t // S]  # (N, C)
                h, c = (s[0] for s in self.decoder.initial_state(cond))  # fresh state
                cond_gates = cond @ w_cond + bias  # (N, 4H)
                rec = h @ w_out[:, : 4 * H]  # (N, 4H)
            gates = frame_gates + cond_gates + rec  # (N, 4H)
            sig = torch.sigmoid(gates)
            c = sig[:, H : 2 * H] * c + sig[:, :H] * torch.tanh(gates[:, 2 * H : 3 * H])
            h = sig[:, 3 * H :] * torch.tanh(c)  # (N, H)
            out = h @ w_out  # (N, 4H + V): next step's recurrent gates, then logits
            rec, logits = out[:, : 4 * H], out[:, 4 * H :] + head_bias
            tok = (logits if noise is None else logits + noise[t]).argmax(-1)  # (N,)
            tokens[:, t] = tok
            frame_gates = token_gates[tok]  # (N, 4H)
            unk = tok == UNK_ID
            if unk.any():
                p = torch.sigmoid(unk_head(h[unk]))
                frames = (p > 0.5).float() if greedy else torch.bernoulli(p, generator=generator)
                unk_frames[t] = (unk, frames)
                frame_gates = frame_gates.clone()
                frame_gates[unk] = self.decoder.embed(frames) @ w_frame
        rolls = self.frame_matrix[tokens]  # (N, steps, 88)
        for t, (unk, frames) in unk_frames.items():
            rolls[unk, t] = frames
        return rolls
