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

import math
from pathlib import Path

import numpy as np
import torch

from pianoplay.decoding.step import DecodingError
from pianoplay.device import pick_device
from pianoplay.errors import CheckpointError, MidiError
from pianoplay.models.checkpoint import load_checkpoint
from pianoplay.models.latent.axes import LatentAxes, attributes, missing_axes
from pianoplay.models.latent.paths import Encoded, bar_cuts, slerp_rows
from pianoplay.models.latent.walk import walk_attribute
from pianoplay.models.segment_vae import FAMILY
from pianoplay.models.segment_vae.model import (
    SegmentVAE,
    SegmentVAEConfig,
    start_notes,
    states_to_roll,
)
from pianoplay.models.segment_vae.states import window_states
from pianoplay.music.representation import Representation
from pianoplay.music.roll import LoadedRoll
from pianoplay.music.windows import count_notes

WINDOW_BARS = 16
INTERPOLATION_MODES = ("bars", "slerp")  # interpolate's modes; the first is its default


class TrainedSegmentVAE:
    """A segment-VAE checkpoint, ready to encode, decode, sample, interpolate and move codes
    along its latent axes (it neither trains nor writes; see :mod:`.train`)."""

    family = FAMILY.name
    interpolation_modes = INTERPOLATION_MODES

    def __init__(self, model: SegmentVAE, config: dict, folder: Path,
                 axes: LatentAxes | None = None) -> None:
        self.model = model.eval()
        self.config = config
        self.folder = Path(folder)
        self.representation = Representation.from_dict(config["representation"])
        self.axes = axes

    @classmethod
    def from_checkpoint(cls, folder: str | Path, device: torch.device | str | None = None
                        ) -> TrainedSegmentVAE:
        if device is None:
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

    def refine(self, z: torch.Tensor, states: torch.Tensor, steps: int) -> torch.Tensor:
        """:meth:`SegmentVAE.refine` of z (N, D) towards ``states`` (N, L, K), weighing the
        prior as this checkpoint was trained (``beta_max``)."""
        weight = float(self.config.get("training", {}).get("config", {}).get("beta_max", 0.01))
        return self.model.refine(z, states, steps, weight)

    def load(self, source):
        """A MIDI path or bytes as a ``LoadedRoll`` on this model's grid (key moved to C)."""
        return self.representation.load(source)

    def encode(self, source, bar: int | None = None, n_bars: int = WINDOW_BARS,
               latent: bool = True) -> Encoded:
        """Encode an ``n_bars``-bar window of ``source`` (MIDI path or bytes, a LoadedRoll, or
        a (T, 88, 2) roll). With ``bar`` the window starts there; otherwise at the bar line
        whose window holds the most notes (the first of equals). Short pieces are padded.
        ``latent=False`` leaves ``z`` None (:meth:`encode_many` encodes windows together)."""
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

    def interpolate_z(self, a, b, steps: int, mode: str = "bars") -> np.ndarray:
        """(steps, S, D) path from a to b (Encoded or (S, D) latents), endpoints included and
        equal to the two encodings bit for bit; the shorter latent is padded with silent
        segments to the longer one's S.

        ``mode`` (one of ``INTERPOLATION_MODES``):

        - ``"bars"`` (default): each segment's z jumps from A's encoding to B's at a step of
          its own, the last segments first. Step k holds A's first ``c_k`` segments and B's
          from that position on, ``c_k`` falling evenly from all of A's segments to none
          (:func:`bar_cuts`): each step starts as A and turns into B at a segment boundary
          (a bar line in 4/4) moving (A's segments) / (steps - 1) earlier per step. No
          segment is a mix of two, so every segment of every step is one of A's or B's
          reconstruction: the limit of a per-segment slerp whose timing is a sigmoid of
          infinite steepness (softer sigmoids mix the switching segment and cost more).
        - ``"slerp"``: every segment moves along the great circle from A's z to B's, all at
          the same pace (MusicVAE's interpolation); in this loose latent space the middle
          steps decode to fragments of both tunes.
        """
        if steps < 2:
            raise ValueError(f"steps must be at least 2 (the two endpoints), got {steps}")
        if mode not in INTERPOLATION_MODES:
            raise DecodingError(
                f"mode must be one of {', '.join(INTERPOLATION_MODES)}, not {mode!r}"
            )
        za, zb = (np.asarray(x.z if isinstance(x, Encoded) else x, np.float64) for x in (a, b))
        S = max(len(za), len(zb))
        silence = self.silence_z()[None].astype(np.float64)
        pa = np.concatenate([za, np.repeat(silence, S - len(za), 0)])
        pb = np.concatenate([zb, np.repeat(silence, S - len(zb), 0)])
        if mode == "slerp":
            path = np.stack([slerp_rows(pa, pb, t) for t in np.linspace(0.0, 1.0, steps)])
        else:
            from_a = np.arange(S)[None, :] < bar_cuts(len(za), steps)[:, None]  # (steps, S)
            path = np.where(from_a[..., None], pa[None], pb[None])
        path[0], path[-1] = pa, pb  # the ends are the encodings themselves, bit for bit
        return path

    def interpolate(self, a, b, steps: int = 8, temperature: float | None = None,
                    seed: int | None = None, greedy: bool = True, mode: str = "bars"
                    ) -> list[np.ndarray]:
        """The decoded path of :meth:`interpolate_z` (``mode`` "bars" or "slerp"): step 1 is
        the reconstruction of a, the last step that of b. With Encoded endpoints each step is
        cut to its length: in "bars" mode A's kept segments, then B's to the end of B's
        window; in "slerp" mode the windows' lengths interpolated (a 6/8 window of A growing
        to a 4/4 window of B)."""
        rolls = self.decode(self.interpolate_z(a, b, steps, mode), temperature, seed)
        if isinstance(a, Encoded) and isinstance(b, Encoded):
            if mode == "slerp":
                lengths = np.rint(np.linspace(len(a.roll), len(b.roll), steps)).astype(int)
            else:  # A's kept segments, then B's to the end of B's window (if it goes on)
                cuts = bar_cuts(len(a.z), steps)
                lengths = np.where(cuts >= len(b.z), cuts * self.segment_steps, len(b.roll))
            lengths[0], lengths[-1] = len(a.roll), len(b.roll)
            rolls = [r[:n] for r, n in zip(rolls, lengths)]
        return rolls

    def latent_axes(self) -> LatentAxes:
        if self.axes is None:
            raise missing_axes(
                self.folder, "run `pianoplay train vae-segment --out FOLDER --finish-only`"
            )
        return self.axes

    def apply(self, z, amounts: dict[str, float]) -> np.ndarray:
        """z (S, D) moved by each slider of ``amounts`` in turn: an attribute listed in the
        axes' ``attribute_scale`` moves the music by scale steps (:meth:`scale_attribute`),
        one in ``attribute_walk`` walks (:meth:`walk_attribute`); any other axis adds amount
        x its vector to every segment."""
        axes = self.latent_axes()
        z = np.array(z.z if isinstance(z, Encoded) else z, dtype=np.float64)
        for name, amount in amounts.items():
            if name in axes.attribute_scale:
                z = self.scale_attribute(z, name, float(amount))
            elif name in axes.attribute_walk:
                z = self.walk_attribute(z, name, float(amount))
            else:
                z = z + float(amount) * axes.vector(name)
        return z

    def scale_attribute(self, z: np.ndarray, name: str, amount: float) -> np.ndarray:
        """z (S, D) after the register slider at ``amount``: z decoded, moved
        round(``steps_per_unit`` x amount) steps along its own scale
        (:func:`~pianoplay.models.latent.scale.diatonic_shift`) and encoded again (refined,
        as an upload is)."""
        from pianoplay.models.latent.scale import diatonic_shift

        steps = int(round(self.latent_axes().attribute_scale[name]["steps_per_unit"] * amount))
        if not steps:
            return np.array(z, dtype=np.float64)
        roll = self.decode(np.asarray(z, np.float32)[None])[0]
        return self.encode_rolls([diatonic_shift(roll, steps)])[0].astype(np.float64)

    def walk_attribute(self, z: np.ndarray, name: str, amount: float) -> np.ndarray:
        """z (S, D) after attribute slider ``name`` at ``amount``: each segment walks the
        decoder's steepest path of the attribute (:func:`~pianoplay.models.latent.walk.
        walk_attribute`, with this checkpoint's ``attribute_walk`` settings)."""
        walk = self.latent_axes().attribute_walk[name]
        return walk_attribute(self.model.decoder, self._decoded, z, walk, name, amount,
                              self.device)

    @staticmethod
    def _decoded(logits: torch.Tensor, name: str) -> torch.Tensor:
        """(S,) attribute ``name`` of each segment decoded from ``logits`` (S, L, K, 3) as
        :meth:`decode` does (most likely states); a silent segment's pitch is NaN."""
        rolls = states_to_roll(start_notes(logits.detach().argmax(-1))).cpu().numpy()
        return torch.tensor([attributes(r)[name] for r in rolls], device=logits.device)

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
