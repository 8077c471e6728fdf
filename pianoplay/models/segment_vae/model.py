"""Segment VAE: one latent per two bars of sixteenths, keys as off / onset / hold.

The faithful model of the app (Interpolate, Latent sliders). MusicVAE's own
numbers say why it is built this way: a 2-bar model with z = 256-512 reconstructs
its input almost exactly, a single z for 16 bars does not (0.812 sampled accuracy
after days on GPUs). So a 16-bar window is cut into segments of ``segment_steps``
frames, each encoded to its own z (the issue's "one z per 2 bars with a prior
over the z sequence"); a small LSTM prior over the z sequence samples new pieces.

Shapes (B windows, S segments, L = segment_steps frames, K = 88 keys):

- a roll is ``(T, 88, 2)`` uint8 (channel 0 sounding, channel 1 onset);
- a key's *state* per frame is 0 off, 1 onset (a note starts), 2 hold;
- encoder: states (N, L, K) -> one-hot of onset/hold (N, L, 2K) -> linear ->
  bidirectional LSTM -> mu, logvar (N, D);
- decoder: an LSTM restarted per segment (state from z), fed z and the previous
  frame at every step -> logits (N, L, K, 3): the keys are independent given
  the decoder state, which is fine when z carries the segment (loose bottleneck);
- prior: an LSTM over the z sequence of a window -> mean, logvar of z_s given z_<s.

Segments decode independently (their first frame sees a start vector, not the
previous segment), so a 16-bar piece decodes as one batch of S segments in
``segment_steps`` sequential steps. A note tied over a segment line comes back
as a hold at the next segment's start, which the MIDI writer joins to the note
before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from pianoplay.config_io import check_names, from_dict, to_dict

OFF, ONSET, HOLD = 0, 1, 2
REFINE_LR = 0.1  # Adam step on z when an encoding is refined
REFINE_CHECK = 5  # refinement checks every this many steps which segments are exact


@dataclass
class SegmentVAEConfig:
    kind: str = "segment"  # the registry builds this class for model.kind == "segment"
    encoder: str = "lstm"  # a name in ENCODERS
    decoder: str = "lstm"  # a name in DECODERS
    mlp_hidden: int = 512  # width of the MLP encoder / decoder (the dense baseline)
    n_keys: int = 88
    segment_steps: int = 32  # frames per latent: 2 bars of 4/4 at 4 steps per quarter
    frame_dim: int = 256  # linear embedding of a frame's onset/hold one-hots
    enc_hidden: int = 256  # per direction
    latent_dim: int = 256
    dec_hidden: int = 512
    prior_hidden: int = 256
    # Initial log-variance of the posterior. 0 (the prior's) drowns z in unit noise at the
    # start, and a decoder that can read its previous frame learns to ignore it; a small
    # variance starts as an autoencoder and the KL term then widens what it can.
    logvar_init: float = 0.0
    dropout: float = 0.1
    # Training only: a previous-frame input is zeroed with this probability (word
    # dropout), so the decoder takes from z what it cannot see, and free-running
    # decoding leans on z rather than on its own (possibly wrong) last frame.
    prev_dropout: float = 0.3

    def __post_init__(self) -> None:
        check_names(self, {"encoder": ENCODERS, "decoder": DECODERS})

    def to_dict(self) -> dict:
        return to_dict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "model") -> SegmentVAEConfig:
        return from_dict(cls, d, where)


def roll_to_states(roll: torch.Tensor) -> torch.Tensor:
    """(..., K, 2) sounding/onset roll -> (..., K) long states 0 off, 1 onset, 2 hold."""
    frames, onsets = roll[..., 0] > 0, roll[..., 1] > 0
    return torch.where(onsets, ONSET, torch.where(frames, HOLD, OFF)).long()


def states_to_roll(states: torch.Tensor) -> torch.Tensor:
    """(..., K) states -> (..., K, 2) uint8 roll (a hold is sounding without onset)."""
    return torch.stack([states > 0, states == ONSET], dim=-1).to(torch.uint8)


def frame_features(states: torch.Tensor) -> torch.Tensor:
    """(..., K) states -> (..., 2K) float: onset one-hots, then hold one-hots."""
    return torch.cat([(states == ONSET), (states == HOLD)], dim=-1).float()


class SegmentEncoder(nn.Module):
    def __init__(self, cfg: SegmentVAEConfig) -> None:
        super().__init__()
        self.embed = nn.Linear(2 * cfg.n_keys, cfg.frame_dim)
        self.lstm = nn.LSTM(cfg.frame_dim, cfg.enc_hidden, batch_first=True, bidirectional=True)
        self.to_mu = nn.Linear(2 * cfg.enc_hidden, cfg.latent_dim)
        self.to_logvar = nn.Linear(2 * cfg.enc_hidden, cfg.latent_dim)
        nn.init.zeros_(self.to_logvar.weight)
        nn.init.constant_(self.to_logvar.bias, cfg.logvar_init)

    def forward(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """states (N, L, K) -> mu, logvar (N, D)."""
        x = self.embed(frame_features(states))  # (N, L, E)
        _, (h, _) = self.lstm(x)  # h (2, N, H)
        h = torch.cat([h[0], h[1]], dim=-1)  # (N, 2H)
        return self.to_mu(h), self.to_logvar(h)


class SegmentDecoder(nn.Module):
    """Autoregressive LSTM over a segment's frames; z at every step and in the initial state."""

    def __init__(self, cfg: SegmentVAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Linear(2 * cfg.n_keys, cfg.frame_dim)
        self.bos = nn.Parameter(torch.zeros(cfg.frame_dim))
        self.init = nn.Linear(cfg.latent_dim, 2 * cfg.dec_hidden)
        self.lstm = nn.LSTM(cfg.frame_dim + cfg.latent_dim, cfg.dec_hidden, batch_first=True)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.dec_hidden, 3 * cfg.n_keys)

    def initial_state(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = torch.tanh(self.init(z)).chunk(2, dim=-1)  # (N, H) each
        return h.unsqueeze(0).contiguous(), c.unsqueeze(0).contiguous()

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """(N, T, H) -> (N, T, K, 3)."""
        return self.head(h).unflatten(-1, (self.cfg.n_keys, 3))

    def forward(self, z: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: z (N, D), states (N, L, K) -> logits (N, L, K, 3);
        frame t is predicted from frames < t."""
        N, L, _ = states.shape
        prev = self.embed(frame_features(states[:, :-1]))  # (N, L-1, E)
        prev = torch.cat([self.bos.expand(N, 1, -1), prev], dim=1)  # (N, L, E)
        if self.training and self.cfg.prev_dropout > 0:
            keep = torch.rand(N, L, 1, device=prev.device) >= self.cfg.prev_dropout
            prev = prev * keep
        inp = torch.cat([prev, z.unsqueeze(1).expand(-1, L, -1)], dim=-1)
        out, _ = self.lstm(self.drop(inp), self.initial_state(z))
        return self.logits(self.drop(out))

    @torch.no_grad()
    def generate(self, z: torch.Tensor, temperature: float = 0.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """z (N, D) -> states (N, L, K), frame by frame, each fed back as the next input."""
        N, L, K = z.size(0), self.cfg.segment_steps, self.cfg.n_keys
        state = self.initial_state(z)
        prev = self.bos.expand(N, -1)
        before = torch.zeros(N, K, dtype=torch.long, device=z.device)
        out = torch.empty(N, L, K, dtype=torch.long, device=z.device)
        for t in range(L):
            logits, state = self.step(z, prev, state)  # (N, K, 3)
            s = pick_states(logits, temperature, generator)
            if t > 0:
                s = torch.where((s == HOLD) & (before == OFF), ONSET, s)
            out[:, t] = s
            before = s
            prev = self.embed(frame_features(s))
        return out

    def step(self, z: torch.Tensor, prev: torch.Tensor, state):
        """One frame: z (N, D), prev (N, E) embedded previous frame -> logits (N, K, 3), state.

        The ``step(state, token) -> (logits, state)`` contract of pianoplay's decoding
        strategies, with the previous frame in place of a token."""
        inp = torch.cat([prev, z], dim=-1).unsqueeze(1)  # (N, 1, E + D)
        out, state = self.lstm(inp, state)
        return self.logits(out)[:, 0], state


class ZPrior(nn.Module):
    """p(z_s | z_<s) for the segments of a window: diagonal Gaussians from an LSTM."""

    def __init__(self, cfg: SegmentVAEConfig) -> None:
        super().__init__()
        self.start = nn.Parameter(torch.zeros(cfg.latent_dim))
        self.lstm = nn.LSTM(cfg.latent_dim, cfg.prior_hidden, batch_first=True)
        self.out = nn.Linear(cfg.prior_hidden, 2 * cfg.latent_dim)

    def forward(self, z: torch.Tensor, state=None):
        """z (B, S, D) inputs (the previous segments) -> mean, logvar (B, S, D), state."""
        out, state = self.lstm(z, state)
        mean, logvar = self.out(out).chunk(2, dim=-1)
        return mean, logvar.clamp(-8.0, 4.0), state

    def nll(self, z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Gaussian NLL (nats) of z (B, S, D) under the prior, summed over D, mean over
        the valid segments (mask (B, S) bool)."""
        B = z.size(0)
        inp = torch.cat([self.start.expand(B, 1, -1), z[:, :-1]], dim=1)
        mean, logvar, _ = self(inp)
        nll = 0.5 * (logvar + (z - mean).pow(2) / logvar.exp() + 1.8378770664093453).sum(-1)
        return (nll * mask).sum() / mask.sum().clamp(min=1)

    @torch.no_grad()
    def sample(self, n: int, segments: int, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, segments, D) z sequences; ``temperature`` scales the standard deviation."""
        device = self.start.device
        x, state, zs = self.start.expand(n, 1, -1), None, []
        for _ in range(segments):
            mean, logvar, state = self(x, state)
            eps = torch.randn(mean.shape, generator=generator).to(device)
            x = mean + temperature * (0.5 * logvar).exp() * eps  # (n, 1, D)
            zs.append(x)
        return torch.cat(zs, dim=1)


class SegmentVAE(nn.Module):
    def __init__(self, cfg: SegmentVAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = ENCODERS[cfg.encoder](cfg)
        self.decoder = DECODERS[cfg.decoder](cfg)
        self.prior = ZPrior(cfg)

    @property
    def device(self) -> torch.device:
        return self.prior.start.device

    def encode(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """states (N, L, K) -> mu, logvar (N, D)."""
        return self.encoder(states)

    def forward(self, states: torch.Tensor, mask: torch.Tensor, sample: bool = True
                ) -> dict[str, torch.Tensor]:
        """states (B, S, L, K) windows of segments, mask (B, S) valid segments ->
        per-segment reconstruction NLL (B, S) in nats, KL (B, S), prior NLL (scalar)."""
        B, S, L, K = states.shape
        flat = states.reshape(B * S, L, K)
        mu, logvar = self.encode(flat)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if sample else mu
        logits = self.decoder(z, flat)  # (B*S, L, K, 3)
        nll = F.cross_entropy(logits.float().reshape(-1, 3), flat.reshape(-1), reduction="none")
        nll = nll.view(B, S, L * K).sum(-1)  # (B, S)
        mu, logvar = mu.float(), logvar.float()
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1).view(B, S)
        prior = self.prior.nll(mu.detach().view(B, S, -1), mask)
        return {"nll": nll, "kl": kl, "prior_nll": prior, "mu": mu.view(B, S, -1),
                "logits": logits}

    def refine(self, z: torch.Tensor, states: torch.Tensor, steps: int, weight: float,
               lr: float = REFINE_LR) -> torch.Tensor:
        """Up to ``steps`` Adam steps on z (N, D) minimising the decoder's NLL of ``states``
        (N, L, K) plus ``weight`` (the trained ``beta_max``) x the prior's 0.5 |z|^2 (the
        training objective for z alone); the weights are not touched. A segment whose most
        likely states already equal its own stops moving (checked every ``REFINE_CHECK``
        steps), and the loop ends when all have, so easy files take a few steps and dense
        ones the budget."""
        out = z.detach().clone()
        active = torch.arange(len(z), device=z.device)  # segments still moving
        za = out.clone().requires_grad_(True)
        opt = torch.optim.Adam([za], lr=lr)
        with torch.enable_grad():
            for step in range(steps):
                target = states[active]
                logits = self.decoder(za, target)  # (n, L, K, 3)
                if step % REFINE_CHECK == 0:
                    exact = (logits.argmax(-1) == target).flatten(1).all(1)  # (n,)
                    if exact.any():  # exact segments keep their z and leave the batch
                        out[active[exact]] = za.detach()[exact]
                        keep = ~exact
                        if not keep.any():
                            return out
                        moments = opt.state[za]
                        za = za.detach()[keep].clone().requires_grad_(True)
                        opt = torch.optim.Adam([za], lr=lr)
                        opt.state[za] = {k: (v[keep] if v.dim() else v) for k, v in moments.items()}
                        active = active[keep]
                        continue  # the next step's forward pass is on the smaller batch
                loss = F.cross_entropy(logits.reshape(-1, 3).float(), target.reshape(-1),
                                       reduction="sum")
                loss = loss + weight * 0.5 * za.pow(2).sum()
                (za.grad,) = torch.autograd.grad(loss, za)
                opt.step()
        out[active] = za.detach()
        return out

    @torch.no_grad()
    def generate(self, z: torch.Tensor, temperature: float = 0.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Decode z (N, D) into states (N, L, K) long; each segment on its own.

        ``temperature`` 0 takes each key's most likely state (deterministic: what the
        app uses for reconstructions and interpolation); above 0 each key's state is
        sampled from softmax(logits / temperature). A hold of a key that was off
        becomes an onset (a note must start somewhere)."""
        return self.decoder.generate(z, temperature, generator)


def pick_states(logits: torch.Tensor, temperature: float, generator) -> torch.Tensor:
    """(..., 3) logits -> (...) states: argmax at temperature 0, else a Gumbel-max sample."""
    if temperature <= 0:
        return logits.argmax(-1)
    u = torch.rand(logits.shape, generator=generator).to(logits.device)
    g = -torch.log(-torch.log(u.clamp(min=1e-20)))
    return (logits / temperature + g).argmax(-1)


def start_notes(states: torch.Tensor) -> torch.Tensor:
    """(N, L, K): a hold of a key that was off in the frame before becomes an onset."""
    before = torch.zeros_like(states)
    before[:, 1:] = states[:, :-1]
    fix = (states == HOLD) & (before == OFF)
    fix[:, 0] = False  # a hold at a segment's start continues the segment before
    return torch.where(fix, ONSET, states)


class MLPEncoder(nn.Module):
    """The dense baseline: a segment's flattened roll -> two hidden layers -> mu, logvar."""

    def __init__(self, cfg: SegmentVAEConfig) -> None:
        super().__init__()
        n_in = cfg.segment_steps * 2 * cfg.n_keys
        self.net = nn.Sequential(nn.Linear(n_in, cfg.mlp_hidden), nn.ReLU(),
                                 nn.Linear(cfg.mlp_hidden, cfg.mlp_hidden), nn.ReLU())
        self.to_mu = nn.Linear(cfg.mlp_hidden, cfg.latent_dim)
        self.to_logvar = nn.Linear(cfg.mlp_hidden, cfg.latent_dim)
        nn.init.zeros_(self.to_logvar.weight)
        nn.init.constant_(self.to_logvar.bias, cfg.logvar_init)

    def forward(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """states (N, L, K) -> mu, logvar (N, D)."""
        h = self.net(frame_features(states).flatten(1))  # (N, hidden)
        return self.to_mu(h), self.to_logvar(h)


class MLPDecoder(nn.Module):
    """The dense baseline: z -> two hidden layers -> every key's state logits at once."""

    def __init__(self, cfg: SegmentVAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.net = nn.Sequential(
            nn.Linear(cfg.latent_dim, cfg.mlp_hidden), nn.ReLU(),
            nn.Linear(cfg.mlp_hidden, cfg.mlp_hidden), nn.ReLU(), nn.Dropout(cfg.dropout),
            nn.Linear(cfg.mlp_hidden, cfg.segment_steps * cfg.n_keys * 3))

    def forward(self, z: torch.Tensor, states: torch.Tensor | None = None) -> torch.Tensor:
        """z (N, D) -> logits (N, L, K, 3); the target states are not looked at."""
        return self.net(z).view(z.size(0), self.cfg.segment_steps, self.cfg.n_keys, 3)

    @torch.no_grad()
    def generate(self, z, temperature: float = 0.0, generator=None) -> torch.Tensor:
        return start_notes(pick_states(self(z), temperature, generator))


class ParallelDecoder(SegmentDecoder):
    """An LSTM over the segment's frames that sees z at every step but none of its own
    output (MusicVAE's ``disable_autoregression``): the keys of every frame come from z
    alone, so free-running decoding is teacher-forced decoding, and all of a segment
    must pass through z. One ``nn.LSTM`` call decodes a batch of segments."""

    def forward(self, z: torch.Tensor, states: torch.Tensor | None = None) -> torch.Tensor:
        """z (N, D) -> logits (N, L, K, 3)."""
        N, L = z.size(0), self.cfg.segment_steps
        prev = self.bos.expand(N, L, -1)  # a constant input: no frame is fed back
        inp = torch.cat([prev, z.unsqueeze(1).expand(-1, L, -1)], dim=-1)
        out, _ = self.lstm(self.drop(inp), self.initial_state(z))
        return self.logits(self.drop(out))

    @torch.no_grad()
    def generate(self, z, temperature: float = 0.0, generator=None) -> torch.Tensor:
        return start_notes(pick_states(self(z), temperature, generator))


ENCODERS = {"lstm": SegmentEncoder, "mlp": MLPEncoder}
DECODERS = {"lstm": SegmentDecoder, "lstm-parallel": ParallelDecoder, "mlp": MLPDecoder}
