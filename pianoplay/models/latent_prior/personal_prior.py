"""The inference side of a personal prior (``personal.py`` fits one): new pieces as
variations of the user's own music.

A personal checkpoint is a latent prior (the base's denoiser, under one style named after
the model, started from the base style nearest the uploads) plus the uploads' code
sequences (``anchors.safetensors``). Sampling lays ``chunk`` codes (bars) at a time from
random places of random uploads (each file equally likely) into a window of 16, noises it
to ``strength`` (0..1) and lets the prior denoise it (SDEdit, Meng et al. 2022): the bars'
texture, density and register stay, their joins are smoothed and their notes rewritten.
``temperature`` scales the strength (above 1: further from the files).

    prior = Registry().load("my-style")
    z = prior.sample(4, seed=1)              # (4, 16, 256) codes; sample_pieces: rolls
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pianoplay.errors import CheckpointError
from pianoplay.models.latent_prior.model import sample
from pianoplay.models.latent_prior.trained import TrainedPrior

ANCHORS = "anchors.safetensors"


def save_anchors(folder: Path, sequences: list[np.ndarray]) -> None:
    from safetensors.numpy import save_file

    save_file({"codes": np.concatenate(sequences).astype(np.float32),
               "lengths": np.asarray([len(s) for s in sequences], np.int64)},
              str(Path(folder) / ANCHORS))


def load_anchors(folder: Path) -> list[np.ndarray]:
    from safetensors.numpy import load_file

    path = Path(folder) / ANCHORS
    if not path.is_file():
        raise CheckpointError(f"{folder} is a personal model without its {ANCHORS}.")
    data = load_file(str(path))
    return np.split(data["codes"], np.cumsum(data["lengths"])[:-1])


class PersonalPrior(TrainedPrior):
    """A :class:`TrainedPrior` that samples variations of its uploads' code windows."""

    anchors: list[np.ndarray]

    @classmethod
    def from_checkpoint(cls, folder, device=None, via=None) -> PersonalPrior:
        prior = super().from_checkpoint(folder, device=device, via=via)
        prior.anchors = load_anchors(folder)
        return prior

    @classmethod
    def of(cls, prior: TrainedPrior, anchors: list[np.ndarray]) -> PersonalPrior:
        """A personal prior in memory (while fitting)."""
        out = cls(prior.model, prior.config, prior.folder, prior.vae)
        out.anchors = anchors
        return out

    @property
    def personal(self) -> dict:
        return dict(self.config.get("personal", {}))

    @property
    def strength(self) -> float:
        return float(self.personal.get("strength", 0.6))

    @property
    def files(self) -> int:
        return max(1, len(self.personal.get("files", [])) or 1)

    @property
    def chunk(self) -> int:
        return int(self.personal.get("chunk", self.segments))

    def windows(self, n: int, S: int, rng: np.random.Generator) -> np.ndarray:
        """(n, S, D) starting points: ``chunk`` codes at a time, each from a random file,
        key and place (a piece shorter than a chunk gives what it has)."""
        per_file = max(len(self.anchors) // self.files, 1)
        out = []
        for _ in range(n):
            parts, length = [], 0
            while length < S:
                f, key = rng.integers(self.files), rng.integers(per_file)
                z = self.anchors[min(key * self.files + f, len(self.anchors) - 1)]
                c = min(self.chunk, len(z), S - length)
                a = rng.integers(len(z) - c + 1)
                parts.append(z[a:a + c])
                length += c
            out.append(np.concatenate(parts))
        return np.stack(out).astype(np.float32)

    @torch.no_grad()
    def sample(self, n: int = 1, style: str | None = None, seed: int | None = None,
               segments: int | None = None, steps: int | None = None,
               temperature: float = 1.0) -> np.ndarray:
        """(n, segments, D) codes: windows of the uploads rewritten by the prior at
        ``strength`` x ``temperature`` (clipped to 0.05..1), window by window."""
        S = segments or self.segments
        gen = self._generator(seed)
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (), generator=gen)))
        strength = float(np.clip(self.strength * float(temperature), 0.05, 1.0))
        steps = steps or max(4, round(self.model.cfg.sample_steps * strength))
        x = self.model.normalise(torch.from_numpy(self.windows(n, S, rng)).to(self.device))
        style_ids = torch.full((n,), self.style_id(style), device=self.device)
        W = self.segments
        starts = list(range(0, max(S - W, 0) + 1, W))
        if starts[-1] + W < S:
            starts.append(S - W)
        out = x.clone()
        for start in starts:
            part = slice(start, start + W)
            free = torch.zeros(x[:, part].shape[:2], dtype=torch.bool, device=self.device)
            out[:, part] = sample(self.model, x[:, part], free, style_ids, steps, gen,
                                  start_t=strength, start_x=x[:, part])
        return self.model.denormalise(out).cpu().numpy()
