"""Inference wrapper of the segment VAE (``model.kind == "segment"``): the app's faithful model.

    vae = Registry().load("vae-faithful")
    a = vae.encode("a.mid")                      # Encoded: z (S, D), one row per segment
    rolls = vae.decode(a.z)                      # [(T, 88, 2)]: the reconstruction of A
    path = vae.interpolate(a, vae.encode("b.mid"), steps=8)
    pm = vae.to_midi(rolls[0], source=a)         # back in A's key, tempo and metre

Rolls are ``(T, 88, 2)`` uint8 on a sixteenth-note grid with onsets, key moved
to C; a piece's latent is ``(S, D)``: one z per ``segment_steps`` frames. Decoding
is deterministic (each key's most likely state) unless a temperature is given.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pianoplay.errors import CheckpointError, MidiError
from pianoplay.models.checkpoint import load_checkpoint, read_config, write_config
from pianoplay.models.vae.latent import LatentAxes, fit_axes
from pianoplay.models.vae.segment_model import SegmentVAE, SegmentVAEConfig, states_to_roll
from pianoplay.music.representation import Representation

LATENT_FILE = "latent.json"
REFINE_LR = 0.1  # Adam step on z when an encoding is refined
REFINE_CHECK = 5  # refinement checks every this many steps which segments are exact
WINDOW_BARS = 16


@dataclass
class Encoded:
    """A window of a piece and its posterior means."""

    z: np.ndarray  # (S, D), one row per segment
    roll: np.ndarray  # (W, 88, 2) uint8, the window that was encoded (silence-padded if short)
    start_bar: int  # first bar used (0-based)
    n_bars: int  # bars inside the window
    total_bars: int  # bars in the whole piece
    transpose: int = 0  # semitones added to reach C; to_midi(source=...) undoes it
    tempo: float = 120.0
    time_signature: tuple[int, int] = (4, 4)
    key: object = None  # pianoplay.music.keys.Key of the file as given


def slerp_rows(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Row-wise spherical interpolation of (S, D) arrays."""
    from pianoplay.models.vae.trained import slerp

    return np.stack([slerp(x, y, t) for x, y in zip(a, b)])


class TrainedSegmentVAE:
    family = "vae"
    kind = "segment"

    def __init__(self, model: SegmentVAE, config: dict, folder: Path,
                 axes: LatentAxes | None = None) -> None:
        self.model = model.eval()
        self.config = config
        self.folder = Path(folder)
        self.representation = Representation.from_dict(config["representation"])
        self._axes = axes

    @classmethod
    def from_checkpoint(cls, folder: str | Path, device: torch.device | str | None = None
                        ) -> TrainedSegmentVAE:
        if device is None:
            from pianoplay.device import pick_device
            device = pick_device(None)
        config, state, extras = load_checkpoint(folder, "cpu")
        model = SegmentVAE(SegmentVAEConfig.from_dict(config["model"], f"{folder}/config.json"))
        try:
            model.load_state_dict(state)
        except RuntimeError as err:
            raise CheckpointError(f"{folder}: weights do not match config.json ({err}).") from None
        axes = LatentAxes.from_json(extras["latent"]) if "latent" in extras else None
        return cls(model.to(device), config, Path(folder), axes)

    # properties ---------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.model.device

    @property
    def steps_per_quarter(self) -> int:
        return self.representation.steps_per_quarter

    @property
    def steps_per_bar(self) -> int:
        return self.representation.steps_per_bar

    @property
    def latent_dim(self) -> int:
        return self.model.cfg.latent_dim

    @property
    def segment_steps(self) -> int:
        return self.model.cfg.segment_steps

    @property
    def n_steps(self) -> int:
        """Frames of a 16-bar 4/4 window (256 sixteenths)."""
        return WINDOW_BARS * self.steps_per_bar

    def segments_for(self, steps: int) -> int:
        return max(1, math.ceil(steps / self.segment_steps))

    # sampling and decoding ----------------------------------------------
    def prior_z(self, n: int = 1, segments: int | None = None, temperature: float = 1.0,
                seed: int | None = None) -> np.ndarray:
        """(n, S, D) z sequences from the learned prior over segments."""
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        with torch.inference_mode():
            z = self.model.prior.sample(n, segments or self.segments_for(self.n_steps),
                                        temperature, gen)
        return z.cpu().numpy().astype(np.float64)

    def sample(self, n: int = 1, temperature: float = 1.0, seed: int | None = None,
               steps: int | None = None) -> list[np.ndarray]:
        """``n`` pieces: z sequences from the prior (``temperature`` scales its standard
        deviation), decoded deterministically; n rolls (steps, 88, 2)."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        steps = steps or self.n_steps
        z = self.prior_z(n, self.segments_for(steps), temperature, seed)
        return [r[:steps] for r in self.decode(z)]

    def decode(self, z, temperature: float | None = None, seed: int | None = None,
               steps: int | None = None, greedy: bool = True) -> list[np.ndarray]:
        """z (S, D) or (N, S, D) -> N rolls (S * segment_steps, 88, 2) (cut to ``steps``).

        Deterministic unless ``temperature`` > 0 (then keys are sampled with noise fixed
        by ``seed``); ``greedy`` is accepted for the API of the other VAE."""
        z = np.asarray(z, dtype=np.float32)
        if z.ndim == 2:
            z = z[None]
        if z.ndim != 3 or z.shape[-1] != self.latent_dim:
            raise ValueError(f"z must be (S, {self.latent_dim}) or (N, S, {self.latent_dim}), "
                             f"not {z.shape}")
        N, S, D = z.shape
        gen = torch.Generator().manual_seed(0 if seed is None else seed)
        with torch.inference_mode():
            states = self.model.generate(torch.as_tensor(z.reshape(N * S, D), device=self.device),
                                         temperature or 0.0, gen)  # (N*S, L, K)
        rolls = states_to_roll(states).cpu().numpy().reshape(N, S * self.segment_steps, 88, 2)
        return [r[:steps] if steps else r for r in rolls]

    # encoding -----------------------------------------------------------
    def encode_rolls(self, rolls: list[np.ndarray], refine: int | None = None
                     ) -> list[np.ndarray]:
        """Encodings of (T, 88, 2) rolls, each cut into segments -> list of (S, D).

        The posterior mean, then ``refine`` steps (default: the checkpoint's
        ``encode_refine_steps``, 0 = the posterior mean alone) of gradient descent on z
        towards the decoder's likelihood of the segment (semi-amortised inference: the
        encoder's guess is closed on by the decoder itself; see :meth:`refine`)."""
        from pianoplay.models.vae.segment_train import window_states

        L = self.segment_steps
        segs, counts = [], []
        for roll in rolls:
            S = self.segments_for(len(roll))
            segs.append(window_states(np.asarray(roll), 0, S * L).reshape(S, L, 88))
            counts.append(S)
        flat = np.concatenate(segs) if segs else np.zeros((0, L, 88), np.int64)
        steps = self.refine_steps if refine is None else refine
        out = []
        for k in range(0, len(flat), 512):
            states = torch.as_tensor(flat[k:k + 512], device=self.device)
            with torch.no_grad():
                mu, _ = self.model.encode(states)
            if steps:
                mu = self.refine(mu, states, steps)
            out.append(mu.cpu().numpy())
        mu = np.concatenate(out) if out else np.zeros((0, self.latent_dim), np.float32)
        return np.split(mu, np.cumsum(counts)[:-1])

    @property
    def refine_steps(self) -> int:
        return int(self.config.get("encode_refine_steps", 0))

    def refine(self, z: torch.Tensor, states: torch.Tensor, steps: int,
               lr: float = REFINE_LR) -> torch.Tensor:
        """Up to ``steps`` Adam steps on z (N, D) minimising the decoder's NLL of ``states``
        (N, L, K) plus ``beta_max`` x the prior's 0.5 |z|^2 (the training objective for z
        alone); the weights are not touched. A segment whose most likely states already
        equal its own stops moving (checked every ``REFINE_CHECK`` steps), and the loop ends
        when all have, so easy files take a few steps and dense ones the budget."""
        weight = float(self.config.get("training", {}).get("config", {}).get("beta_max", 0.01))
        out = z.detach().clone()
        active = torch.arange(len(z), device=z.device)  # segments still moving
        za = out.clone().requires_grad_(True)
        opt = torch.optim.Adam([za], lr=lr)
        with torch.enable_grad():
            for step in range(steps):
                target = states[active]
                logits = self.model.decoder(za, target)  # (n, L, K, 3)
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

    def load(self, source):
        """A MIDI path or bytes as a ``LoadedRoll`` on this model's grid (key moved to C)."""
        return self.representation.load(source)

    def encode(self, source, bar: int | None = None, n_bars: int = WINDOW_BARS,
               latent: bool = True) -> Encoded:
        """Encode an ``n_bars``-bar window of ``source`` (MIDI path or bytes, a LoadedRoll, or
        a (T, 88, 2) roll). With ``bar`` the window starts there; otherwise at the bar line
        whose window holds the most notes (the first of equals). Short pieces are padded.
        ``latent=False`` leaves ``z`` None (:meth:`encode_many` encodes windows together)."""
        from pianoplay.music.roll import LoadedRoll
        from pianoplay.music.windows import count_notes

        if isinstance(source, np.ndarray):
            roll = np.asarray(source)
            if roll.ndim != 3 or roll.shape[1:] != (88, 2):
                raise MidiError(f"a piano roll for this model is (T, 88, 2), not {roll.shape}.")
            loaded = LoadedRoll(
                roll=roll,
                transpose=0,
                steps_per_bar=self.steps_per_bar,
                bar_starts=list(range(0, len(roll), self.steps_per_bar)),
                tempo=120.0,
                time_signature=(4, 4),
                key=None,
            )
        else:
            loaded = source if isinstance(source, LoadedRoll) else self.load(source)
        roll, starts = loaded.roll, list(loaded.bar_starts) or [0]
        if not roll.any():
            raise MidiError("the piece has no notes to encode.")
        W = n_bars * loaded.steps_per_bar
        if bar is not None:
            if not 0 <= bar < len(starts):
                raise MidiError(
                    f"the piece has {len(starts)} bars; pick a start bar from 1 to "
                    f"{len(starts)}, not {bar + 1}."
                )
            start_bar = bar
        else:
            best = max(
                range(len(starts)),
                key=lambda i: (
                    min(len(roll) - starts[i], W) >= min(len(roll), W),
                    count_notes(roll[starts[i] : starts[i] + W]),
                    -i,
                ),
            )
            start_bar = best
        start = int(starts[start_bar])
        window = np.zeros((W, 88, 2), np.uint8)
        piece = roll[start : start + W]
        if not piece.any():
            raise MidiError(f"bar {start_bar + 1} of the piece starts after its last note.")
        window[: len(piece)] = piece
        z = self.encode_rolls([window])[0] if latent else None
        n_in = sum(1 for s in starts if start <= s < start + W)
        return Encoded(
            z=z,
            roll=window,
            start_bar=start_bar,
            n_bars=n_in,
            total_bars=len(starts),
            transpose=int(loaded.transpose),
            tempo=float(loaded.tempo),
            time_signature=tuple(loaded.time_signature),
            key=loaded.key,
        )

    def encode_many(self, sources) -> list[Encoded]:
        """:meth:`encode` of several files, their windows refined together in one batch
        (an interpolation's two ends cost about one)."""
        encoded = [self.encode(source, latent=False) for source in sources]
        for enc, z in zip(encoded, self.encode_rolls([e.roll for e in encoded])):
            enc.z = z
        return encoded

    def reconstruct(self, encoded: Encoded) -> np.ndarray:
        """The deterministic decoding of an encoding, cut to its window: (W, 88, 2)."""
        return self.decode(encoded.z, steps=len(encoded.roll))[0]

    # interpolation and latent axes -------------------------------------
    def silence_z(self) -> np.ndarray:
        """(D,) the encoding of a silent segment (pads the shorter end of a path)."""
        if not hasattr(self, "_silence"):
            L = self.segment_steps
            self._silence = self.encode_rolls([np.zeros((L, 88, 2), np.uint8)])[0][0]
        return self._silence

    def interpolate_z(self, a, b, steps: int) -> np.ndarray:
        """(steps, S, D) slerp path (row by row) from a to b, endpoints included; the
        shorter latent is padded with silent segments, so the ends decode to a and b."""
        if steps < 2:
            raise ValueError(f"steps must be at least 2 (the two endpoints), got {steps}")
        za, zb = (np.asarray(x.z if isinstance(x, Encoded) else x, np.float64) for x in (a, b))
        S = max(len(za), len(zb))
        silence = self.silence_z()[None].astype(np.float64)
        za = np.concatenate([za, np.repeat(silence, S - len(za), 0)])
        zb = np.concatenate([zb, np.repeat(silence, S - len(zb), 0)])
        path = np.stack([slerp_rows(za, zb, t) for t in np.linspace(0.0, 1.0, steps)])
        path[0], path[-1] = za, zb  # the ends are the encodings themselves, bit for bit
        return path

    def interpolate(self, a, b, steps: int = 8, temperature: float | None = None,
                    seed: int | None = None, greedy: bool = True) -> list[np.ndarray]:
        """Decoded path. With Encoded endpoints step i is as long as the windows' lengths
        interpolated (a 6/8 window of A growing to a 4/4 window of B): step 1 is the
        reconstruction of a, the last step that of b."""
        rolls = self.decode(self.interpolate_z(a, b, steps), temperature, seed)
        if isinstance(a, Encoded) and isinstance(b, Encoded):
            lengths = np.rint(np.linspace(len(a.roll), len(b.roll), steps)).astype(int)
            rolls = [r[:n] for r, n in zip(rolls, lengths)]
        return rolls

    def latent_axes(self) -> LatentAxes:
        if self._axes is None:
            raise CheckpointError(
                f"{self.folder} has no {LATENT_FILE}; run "
                "`pianoplay train vae-segment --out FOLDER --finish-only`."
            )
        return self._axes

    def apply(self, z, amounts: dict[str, float]) -> np.ndarray:
        """z (S, D) plus, on every segment, the sum of amount x vector over ``amounts``."""
        axes = self.latent_axes()
        z = np.array(z.z if isinstance(z, Encoded) else z, dtype=np.float64)
        for name, amount in amounts.items():
            z = z + float(amount) * axes.vector(name)
        return z

    def build_latent_axes(self, rolls: list[np.ndarray], save: bool = True) -> LatentAxes:
        """Fit :class:`LatentAxes` on the segments of ``rolls`` (T, 88, 2) and store them."""
        L = self.segment_steps
        segs = [r[k : k + L] for r in rolls for k in range(0, len(r) - L + 1, L)]
        segs = [s for s in segs if s.any()]
        mu = np.concatenate(self.encode_rolls(segs))
        self._axes = fit_axes(mu, segs)
        if save:
            (self.folder / LATENT_FILE).write_text(json.dumps(self._axes.to_json()) + "\n")
            config = read_config(self.folder)
            config.setdefault("files", {})["latent"] = LATENT_FILE
            config["latent_axes"] = {
                "segments": len(segs),
                "source": f"train split, consecutive {L}-frame segments",
            }
            write_config(self.folder, config)
            self.config = config
        return self._axes

    def to_midi(
        self,
        roll: np.ndarray,
        tempo: float = 120.0,
        program: int = 0,
        transpose: int = 0,
        source=None,
    ):
        """A roll as PrettyMIDI; ``source`` (an Encoded) restores its key, tempo and metre,
        else ``transpose`` semitones are added."""
        if source is not None:
            return self.representation.to_midi(roll, source, tempo=tempo, program=program)
        return self.representation.to_midi(
            roll, None, tempo=tempo, program=program, transpose=-transpose
        )
