"""Inference wrapper around a trained VAE checkpoint (magenta's ``TrainedModel``).

    vae = TrainedVAE.from_checkpoint("checkpoints/vae-nottingham")
    rolls = vae.sample(4, temperature=0.8, seed=1)          # 4 x (128, 88)
    a, b = vae.encode("a.mid"), vae.encode("b.mid")        # Encoded
    path = vae.interpolate(a, b, steps=8)                  # 8 x (128, 88), ends included
    axes = vae.latent_axes()
    louder = vae.decode(vae.apply(a.z, {"note_density": 1.0}))

Rolls are (T, 88) uint8 in the benchmark representation (eighth-note frames,
key normalised to C); ``Encoded.transpose`` undoes the key shift of a file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pianoplay.config_io import from_dict
from pianoplay.decoding.step import DecodingError, Rules
from pianoplay.device import pick_device
from pianoplay.errors import CheckpointError, MidiError
from pianoplay.limits import DECODE_TEMPERATURE
from pianoplay.models.checkpoint import load_checkpoint
from pianoplay.models.latent.axes import LatentAxes, missing_axes
from pianoplay.models.latent.paths import Encoded, slerp
from pianoplay.models.music_vae import FAMILY
from pianoplay.models.music_vae.evaluate import make_batch
from pianoplay.models.music_vae.model import MusicVAE, VAEConfig
from pianoplay.music.representation import Representation
from pianoplay.music.roll import LoadedRoll, load_roll, roll_to_midi
from pianoplay.music.vocab import ChordVocab
from pianoplay.music.windows import extract_windows


class TrainedVAE:
    """A chord-token VAE checkpoint (one z per 16 bars of eighth notes, frames as chord
    tokens), ready to sample, encode, decode and interpolate; it neither trains nor writes
    (latent axes are fitted by :func:`pianoplay.models.music_vae.train.fit_latent_axes`)."""

    family = FAMILY.name
    interpolation_modes = ("slerp",)  # interpolate's paths; the first is its default

    def __init__(self, model: MusicVAE, vocab: ChordVocab, config: dict, folder: Path,
                 axes: LatentAxes | None = None) -> None:
        self.model = model.eval()
        self.vocab = vocab
        self.config = config
        self.representation = Representation.from_dict(config.get("representation", {}))
        self.folder = Path(folder)
        self.axes = axes

    @classmethod
    def from_checkpoint(
        cls, folder: str | Path, device: torch.device | str | None = None
    ) -> TrainedVAE:
        if device is None:
            device = pick_device(None)
        config, state, extras = load_checkpoint(folder, "cpu")
        if not FAMILY.matches(config):
            raise CheckpointError(f"{folder} holds no {FAMILY.name} model.")
        if "vocab" not in extras:
            raise CheckpointError(f"{folder}: config.json names no vocab file.")
        vocab = ChordVocab.from_json(extras["vocab"])
        model = MusicVAE(VAEConfig.from_dict(config["model"]))
        try:
            model.load_state_dict(state)
        except RuntimeError as err:
            raise CheckpointError(f"{folder}: weights do not match config.json ({err}).") from None
        model.set_unk_prior(vocab.key_probs, vocab.log_unk_norm)
        if "decode_rules" in config:
            model.rules = from_dict(Rules, config["decode_rules"], f"{folder}: decode_rules")
        axes = LatentAxes.from_json(extras["latent"]) if "latent" in extras else None
        return cls(model.to(device), vocab, config, Path(folder), axes)

    # properties ---------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.model.device

    @property
    def steps_per_quarter(self) -> int:
        return int(self.config.get("representation", {}).get("steps_per_quarter", 2))

    @property
    def steps_per_bar(self) -> int:
        return int(self.config.get("representation", {}).get("steps_per_bar", 8))

    @property
    def latent_dim(self) -> int:
        return self.model.cfg.latent_dim

    @property
    def n_steps(self) -> int:
        """Frames per window (128 = 16 bars of eighth notes)."""
        return self.model.cfg.max_steps

    # sampling and decoding ----------------------------------------------
    def prior_z(self, n: int = 1, seed: int | None = None) -> np.ndarray:
        """(n, D) z ~ N(0, I), drawn on the CPU (the same z on any device), as
        :meth:`sample` draws them."""
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        return torch.randn(n, self.latent_dim, generator=gen).numpy()

    def sample(
        self,
        n: int = 1,
        temperature: float = 1.0,
        seed: int | None = None,
        steps: int | None = None,
    ) -> list[np.ndarray]:
        """``n`` pieces from z ~ N(0, I), decoded in one batch with sampling at
        ``temperature`` (0: greedy); returns n (T, 88) uint8 rolls."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        z = torch.randn(n, self.latent_dim, generator=gen)  # on the CPU: same z on any device
        return self._decode(z, temperature, greedy=False, seed=seed, steps=steps)

    def decode(
        self,
        z,
        temperature: float | None = None,
        seed: int | None = None,
        steps: int | None = None,
        greedy: bool = False,
    ) -> list[np.ndarray]:
        """z (N, D) or (D,) -> N rolls (T, 88), one batched pass. Deterministic by
        default: tokens are sampled at the checkpoint's ``decode_temperature`` (else
        ``DECODE_TEMPERATURE``) with a fixed ``seed``
        (0), the same random numbers for every call, so a slider move changes only
        what z changes. ``greedy=True`` takes the argmax instead; autoregressive
        argmax decoding of these models falls into held chords, so it is not the default."""
        z = torch.as_tensor(np.asarray(z, dtype=np.float32)).reshape(-1, self.latent_dim)
        if greedy:
            return self._decode(z, 1.0, greedy=True, seed=None, steps=steps)
        default = float(self.config.get("decode_temperature", DECODE_TEMPERATURE))
        return self._decode(
            z,
            default if temperature is None else temperature,
            greedy=False,
            seed=0 if seed is None else seed,
            steps=steps,
        )

    def _decode(self, z, temperature, greedy, seed, steps) -> list[np.ndarray]:
        """z (N, D) -> N rolls through :mod:`pianoplay.decoding` (``MusicVAE.generate``:
        strategy "sample", or "greedy" when asked or at temperature 0)."""
        gen = (
            torch.Generator(device=self.device).manual_seed(seed + 1) if seed is not None else None
        )
        with torch.inference_mode():
            rolls = self.model.generate(
                z.to(self.device), steps or self.n_steps, temperature, greedy, gen
            )
        return [r.to(torch.uint8).cpu().numpy() for r in rolls]

    # encoding -----------------------------------------------------------
    def encode_rolls(self, rolls: list[np.ndarray]) -> np.ndarray:
        """Posterior means of (T, 88) rolls, batched -> (N, D)."""
        out = []
        with torch.inference_mode():
            for k in range(0, len(rolls), 256):
                roll, _, lengths, _ = make_batch(rolls[k : k + 256], self.vocab, self.device)
                mu, _ = self.model.encode(roll, lengths)
                out.append(mu.cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.latent_dim), np.float32)

    def load(self, source) -> LoadedRoll:
        """A MIDI path or bytes as a ``LoadedRoll`` on this model's grid (key moved to C
        unless the representation says otherwise)."""
        rep = self.config.get("representation", {})
        return load_roll(
            source,
            steps_per_quarter=self.steps_per_quarter,
            normalize_key=rep.get("normalize_key", True),
        )

    def encode(self, source, bar: int | None = None) -> Encoded:
        """Encode a 16-bar window of ``source`` (MIDI path or bytes, a ``LoadedRoll``, or a
        (T, 88) roll). With ``bar`` the window starts there; otherwise the first window
        with the most notes among the piece's bar-aligned windows is taken.
        Pieces shorter than a window are padded with silence."""
        W = self.n_steps
        transpose, tempo = 0, 120.0
        if isinstance(source, np.ndarray):
            roll = np.asarray(source)
            if roll.ndim != 2 or roll.shape[1] != 88:
                raise MidiError(f"a piano roll must have shape (T, 88), not {roll.shape}.")
            roll = (roll > 0).astype(np.uint8)
            bar_starts = list(range(0, len(roll), self.steps_per_bar))
        else:
            loaded = source if isinstance(source, LoadedRoll) else self.load(source)
            roll, bar_starts = loaded.roll, list(loaded.bar_starts) or [0]
            transpose, tempo = loaded.transpose, loaded.tempo
        if not roll.any():
            raise MidiError("the piece has no notes to encode.")
        if len(roll) < W:
            start = int(bar_starts[bar]) if bar is not None and bar < len(bar_starts) else 0
            piece = roll[start:]
            if not piece.any():
                raise MidiError(f"bar {bar + 1} of the piece starts after its last note.")
            window = np.zeros((W, 88), np.uint8)
            window[: len(piece)] = piece
            start_bar = bar if bar is not None and bar < len(bar_starts) else 0
            n_bars = sum(1 for s in bar_starts if start <= s < start + W)
        else:
            windows = extract_windows(roll, W, bar_starts, min_notes=1)
            if not windows:
                raise MidiError("no 16-bar window of the piece holds any notes.")
            if bar is not None:
                chosen = [w for w in windows if w.start_bar == bar]
                if not chosen:
                    last = windows[-1].start_bar + 1
                    raise MidiError(
                        f"no full window starts at bar {bar + 1}; pick a bar from 1 to {last}."
                    )
                w = chosen[0]
            else:
                w = max(
                    windows,
                    key=lambda w: (
                        int(w.roll.sum() > 0) * int((w.roll.sum(1) > 0).sum()),
                        -w.start_bar,
                    ),
                )
            window, start_bar, n_bars = w.roll, w.start_bar, w.n_bars
        z = self.encode_rolls([window])[0]
        return Encoded(
            z=z,
            roll=window,
            start_bar=int(start_bar),
            n_bars=int(n_bars),
            total_bars=len(bar_starts),
            transpose=int(transpose),
            tempo=float(tempo),
        )

    def encode_many(self, sources) -> list[Encoded]:
        """:meth:`encode` of each source (the protocol every VAE offers)."""
        return [self.encode(source) for source in sources]

    # interpolation and latent axes -------------------------------------
    @staticmethod
    def _z(x) -> np.ndarray:
        return np.asarray(x.z if isinstance(x, Encoded) else x, dtype=np.float64).reshape(-1)

    def interpolate_z(self, a, b, steps: int) -> np.ndarray:
        """(steps, D) slerp path from a to b (Encoded or z), endpoints included."""
        if steps < 2:
            raise ValueError(f"steps must be at least 2 (the two endpoints), got {steps}")
        za, zb = self._z(a), self._z(b)
        return np.stack([slerp(za, zb, t) for t in np.linspace(0.0, 1.0, steps)])

    def interpolate(
        self,
        a,
        b,
        steps: int = 8,
        temperature: float | None = None,
        seed: int | None = None,
        greedy: bool = False,
        mode: str = "slerp",
    ) -> list[np.ndarray]:
        """Decoded slerp path between the posterior means of a and b (one batch;
        decoding as :meth:`decode`). ``mode`` "slerp" is the only path of one code for the
        whole window."""
        if mode not in self.interpolation_modes:
            raise DecodingError(
                f"{self.config.get('name', 'this VAE')} has one code for the whole window, so "
                f"its path is 'slerp' only; {mode!r} needs a VAE with a code per bar "
                "(vae-faithful)."
            )
        return self.decode(self.interpolate_z(a, b, steps), temperature, seed, greedy=greedy)

    def latent_axes(self) -> LatentAxes:
        if self.axes is None:
            raise missing_axes(
                self.folder, "retrain, or run pianoplay.models.music_vae.train.fit_latent_axes"
            )
        return self.axes

    def apply(self, z, amounts: dict[str, float]) -> np.ndarray:
        """z (D,) or (N, D) plus sum of amount x vector over ``amounts``
        (``pcK`` in units of that axis' std, attributes in quartile-gap units)."""
        axes = self.latent_axes()
        z = np.array(self._z(z) if isinstance(z, Encoded) else z, dtype=np.float64)
        for name, amount in amounts.items():
            z = z + float(amount) * axes.vector(name)
        return z

    def to_midi(self, roll: np.ndarray, tempo: float = 120.0, program: int = 0, transpose: int = 0):
        return roll_to_midi(
            roll,
            steps_per_quarter=self.steps_per_quarter,
            tempo=tempo,
            program=program,
            transpose=transpose,
        )
