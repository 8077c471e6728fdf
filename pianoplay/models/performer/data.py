"""The piano-midi-de performances as performer examples, cached as one npz per split."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pianoplay.errors import DataError
from pianoplay.models.performer.features import (
    harmony_changes,
    note_features,
    read_score,
    step_features,
)
from pianoplay.models.performer.targets import pedal_steps, velocities
from pianoplay.paths import data_dir

SET = "piano-midi-de"


@dataclass
class Piece:
    """One performance: score features and what the performer played."""

    name: str
    notes: np.ndarray  # (N, NOTE_FEATURES) float32
    velocity: np.ndarray  # (N,) int
    steps: np.ndarray  # (S, STEP_FEATURES) float32
    down: np.ndarray  # (S,) bool
    press: np.ndarray  # (S,) bool
    harmony: np.ndarray  # (S,) bool, harmony changes (for the bench)
    top: np.ndarray  # (N,) bool, top voice (for the rule baseline)
    downbeat: np.ndarray  # (N,) bool


def split_files(split: str, root: Path | None = None) -> list[Path]:
    """The MIDI files of a split (train / valid / test) of metadata.csv."""
    root = Path(root) if root is not None else data_dir() / SET
    meta = root / "metadata.csv"
    if not meta.is_file():
        raise DataError(f"{meta} is missing: the piano-midi-de set is not installed.")
    with meta.open() as fh:
        files = [root / row["midi"] for row in csv.DictReader(fh) if row["split"] == split]
    return [f for f in files if f.is_file()]  # a few listed files are not in the set


def piece_of(path: Path) -> Piece:
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    score = read_score(pm)
    nf = note_features(score)
    down, press = pedal_steps(pm, score)
    return Piece(path.stem, nf, velocities(pm, score), step_features(score), down, press,
                 harmony_changes(score), nf[:, 14] > 0, nf[:, 3] > 0)


FIELDS = ("notes", "velocity", "steps", "down", "press", "harmony", "top", "downbeat")


def load_split(split: str, cache: Path | None = None, limit: int | None = None) -> list[Piece]:
    """Every piece of ``split`` (the first ``limit``), from ``cache`` (an npz) when it exists."""
    if cache is not None and Path(cache).is_file():
        with np.load(cache) as z:
            names = [str(x) for x in z["names"]]
            offsets = z["offsets"]
            full = {k: z[k] for k in FIELDS}  # each array read once
        out = []
        for i, name in enumerate(names[:limit]):
            n0, n1, s0, s1 = offsets[i]
            arrays = {k: full[k][n0:n1] if k in ("notes", "velocity", "top", "downbeat")
                      else full[k][s0:s1] for k in FIELDS}
            out.append(Piece(name, **arrays))
        return out
    pieces = [piece_of(p) for p in split_files(split)[:limit]]
    pieces = [p for p in pieces if len(p.velocity) > 0 and len(p.down) > 0]
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        n = np.cumsum([0] + [len(p.velocity) for p in pieces])
        s = np.cumsum([0] + [len(p.down) for p in pieces])
        offsets = np.stack([n[:-1], n[1:], s[:-1], s[1:]], axis=1)
        np.savez(cache, names=np.array([p.name for p in pieces]), offsets=offsets,
                 **{k: np.concatenate([getattr(p, k) for p in pieces]) for k in FIELDS})
    return pieces
