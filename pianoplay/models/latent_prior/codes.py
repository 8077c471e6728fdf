"""The data a latent prior learns: sequences of a segment VAE's per-segment codes.

Every piece of a data set is encoded whole by the frozen VAE (posterior means,
one row per ``segment_steps`` frames, from the piece's first step), once per
transposition; a training example is ``segments`` consecutive rows of one of
these sequences. Posterior means rather than the app's refined encodings: they are
what the encoder puts where, so the prior learns the region the encoder fills, and
encoding 50,000 segments x 12 keys takes a minute instead of hours.

    codes = code_set(vae, "nottingham", "train", shifts=range(-5, 7))
    codes.pieces[0]            # (S, D) float32: the first piece at the first shift
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pianoplay import paths
from pianoplay.data.midi_sets import load_midi_split
from pianoplay.music.roll import shift_keys

CODES_VERSION = 1


@dataclass
class CodeSet:
    """Per-piece code sequences of one split of one data set."""

    name: str  # data set
    pieces: list[np.ndarray]  # each (S_i, D) float32
    shifts: list[int]  # transposition of each entry of ``pieces``

    def windows(self, segments: int) -> np.ndarray:
        """(N, 2) int: (piece, first row) of every full window of ``segments`` rows."""
        out = [(i, s) for i, p in enumerate(self.pieces) for s in range(len(p) - segments + 1)]
        return np.asarray(out, dtype=np.int64).reshape(-1, 2)


def _cache_file(vae, name: str, split: str, shifts: list[int]) -> Path:
    digest = hashlib.sha256(json.dumps(
        {"v": CODES_VERSION, "vae": str(vae.folder), "name": name, "split": split,
         "shifts": shifts}, sort_keys=True).encode())
    weights = Path(vae.folder) / "model.safetensors"
    digest.update(str(weights.stat().st_mtime_ns).encode())
    return paths.cache_dir() / "codes" / f"{name}-{split}-{digest.hexdigest()[:16]}.npz"


def encode_pieces(vae, rolls: list[np.ndarray], shifts=(0,)) -> tuple[list[np.ndarray], list]:
    """Posterior-mean code sequences of (T, 88, 2) rolls at each transposition."""
    out, used = [], []
    for shift in shifts:
        moved = [shift_keys(np.asarray(r), int(shift)) for r in rolls]
        out.extend(z.astype(np.float32) for z in vae.encode_rolls(moved, refine=0))
        used.extend([int(shift)] * len(rolls))
    return out, used


def code_set(vae, name: str, split: str, shifts=(0,), cache: bool = True) -> CodeSet:
    """The codes of ``split`` of data set ``name`` (a folder of the data directory),
    cached under the preprocessed-data cache."""
    shifts = [int(s) for s in shifts]
    target = _cache_file(vae, name, split, shifts)
    if cache and target.exists():
        with np.load(target) as f:
            flat, lengths, used = f["codes"], f["lengths"], f["shifts"]
        pieces = np.split(flat, np.cumsum(lengths)[:-1])
        return CodeSet(name, list(pieces), [int(s) for s in used])
    rolls = [x.roll for x in load_midi_split(paths.data_dir() / name, split,
                                             vae.representation.load_args())]
    pieces, used = encode_pieces(vae, rolls, shifts)
    if cache:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.stem}.tmp.npz")
        np.savez(tmp, codes=np.concatenate(pieces), lengths=[len(p) for p in pieces],
                 shifts=used)
        tmp.replace(target)
    return CodeSet(name, pieces, used)
