"""LSTM-VAE over piano-roll windows (MusicVAE-style), one frame = one chord token.

The model composes an encoder and a decoder chosen by name in the config
(:data:`~pianoplay.models.music_vae.encoders.ENCODERS`,
:data:`~pianoplay.models.music_vae.decoders.DECODERS`). Encoder: frame embedding ->
bidirectional LSTM -> (mu, logvar) of a diagonal Gaussian posterior q(z | x).
Decoder: an LSTM whose initial state comes from z and which sees z at every step
(``flat``), or the same below a hierarchical "conductor" that turns z into one
embedding per bar and re-initialises the decoder each bar (``conductor``).

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

from pianoplay.config_io import ConfigError, check_names, from_dict
from pianoplay.decoding import run
from pianoplay.decoding.step import Rules
from pianoplay.models.music_vae.decoders import DECODERS
from pianoplay.models.music_vae.encoders import ENCODERS
from pianoplay.models.music_vae.parts_step import UNK_ID

# The VAE decodes under no rules unless its checkpoint names some (``decode_rules`` in
# config.json, e.g. vae-nottingham: a frame at most twice in a row); UNK stays allowed.
RULES = Rules()
# An UNK frame's Bernoulli draws use a generator of their own, seeded from the tokens'
# generator's seed plus this, so where an UNK falls does not shift the tokens' noise.
UNK_SEED_OFFSET = 0x5EED


@dataclass
class VAEConfig:
    n_out: int = 1254  # vocabulary classes incl. UNK (ChordVocab.n_out)
    n_keys: int = 88
    encoder: str = "lstm"  # a name in ENCODERS
    decoder: str = "flat"  # a name in DECODERS: "flat", or "conductor" (one embedding per bar)
    frame_dim: int = 128  # frame embedding: a linear map of the 88-key multi-hot
    enc_hidden: int = 256  # per direction
    latent_dim: int = 64
    dec_hidden: int = 512
    cond_hidden: int = 256  # conductor decoder only
    cond_dim: int = 128  # bar embedding size fed to the bottom decoder (conductor only)
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

    def __post_init__(self) -> None:
        check_names(self, {"encoder": ENCODERS, "decoder": DECODERS})

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "model") -> VAEConfig:
        """Strict (:func:`pianoplay.config_io.from_dict`). Configs written before decoders
        had names say ``"conductor": true / false``: read as ``decoder`` "conductor" / "flat"."""
        d = dict(d or {})
        if "conductor" in d:
            legacy = "conductor" if d.pop("conductor") else "flat"
            if d.setdefault("decoder", legacy) != legacy:
                raise ConfigError(f"{where}: 'conductor' says decoder {legacy!r} but "
                                  f"'decoder' says {d['decoder']!r}.")
        return from_dict(cls, d, where)


class MusicVAE(nn.Module):
    def __init__(self, cfg: VAEConfig, frame_matrix: torch.Tensor | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.rules = RULES  # what decoding may not emit (TrainedVAE sets the checkpoint's)
        self.encoder = ENCODERS[cfg.encoder](cfg)
        self.decoder = DECODERS[cfg.decoder](cfg)
        # (n_out, 88) roll of each token (row 0 = UNK = silence); saved with the weights.
        if frame_matrix is None:
            frame_matrix = torch.zeros(cfg.n_out, cfg.n_keys)
        self.register_buffer("frame_matrix", frame_matrix.float())
        # The global UNK Bernoulli comes from the vocabulary (set_unk_prior), not the weights.
        self.register_buffer("prior_logits", torch.zeros(cfg.n_keys), persistent=False)
        self.register_buffer("prior_log_norm", torch.zeros(()), persistent=False)
        self.register_load_state_dict_pre_hook(_conductor_moved)

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
        return self.decoder(z, roll)

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

        The decoder's step function (``decoder.step_function``) run by the strategies of
        :mod:`pianoplay.decoding`: ``greedy`` (or ``temperature`` 0) takes the most likely
        token each step; otherwise "sample" draws each token from softmax(logits /
        temperature) with ``generator`` (a random seed without one). An UNK token is
        replaced by a frame drawn from the Bernoulli head (thresholded when greedy), with a
        generator of its own (see ``UNK_SEED_OFFSET``).
        """
        greedy = greedy or temperature == 0
        unk_gen = None
        if not greedy:
            if generator is None:
                seed = int(torch.randint(2**62, ()))
                generator = torch.Generator(z.device).manual_seed(seed)
            unk_seed = (generator.initial_seed() + UNK_SEED_OFFSET) % 2**63
            unk_gen = torch.Generator(z.device).manual_seed(unk_seed)
        steps_fn = self.decoder.step_function(z, steps, self.frame_matrix, unk_gen)
        tokens = run.decode(
            "greedy" if greedy else "sample",
            steps_fn.step,
            steps_fn.start,
            steps,
            self.rules,
            gen=generator,
            temperature=1.0 if greedy else temperature,
        )
        return steps_fn.rolls(tokens)


def _conductor_moved(module, state_dict, prefix, *_) -> None:
    """Weights saved before decoders had names hold the conductor beside the decoder
    (``conductor.*``); it is now a part of it (``decoder.conductor.*``)."""
    for key in [k for k in state_dict if k.startswith(prefix + "conductor.")]:
        state_dict[prefix + "decoder." + key[len(prefix):]] = state_dict.pop(key)
