"""Musical key of a score, and the transposition that brings it to C.

The benchmark rolls are transposed so every piece is in C major or C minor.
We read the key from the file's first key-signature event when it has one,
and otherwise estimate it with the Krumhansl-Schmuckler algorithm: the
duration-weighted pitch-class histogram is correlated with the 24 rotations
of the Krumhansl-Kessler major and minor profiles, and the best one wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pianoplay.midi import Score

NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Krumhansl & Kessler (1982) probe-tone ratings, tonic first.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


@dataclass(frozen=True)
class Key:
    tonic: int  # pitch class 0..11, 0 = C
    minor: bool
    estimated: bool  # True when no key-signature event was found

    @property
    def key_number(self) -> int:
        """pretty_midi's numbering: 0-11 major, 12-23 minor."""
        return self.tonic + (12 if self.minor else 0)

    @property
    def name(self) -> str:
        return f"{NAMES[self.tonic]} {'minor' if self.minor else 'major'}"

    def __str__(self) -> str:
        return self.name + (" (estimated)" if self.estimated else "")

    @classmethod
    def from_key_number(cls, key_number: int, estimated: bool = False) -> Key:
        return cls(tonic=key_number % 12, minor=key_number >= 12, estimated=estimated)


def shift_to_c(tonic: int) -> int:
    """Semitones in -6..+5 that move ``tonic`` to C with the smallest motion."""
    shift = -tonic % 12
    return shift - 12 if shift > 5 else shift


def estimate_key(histogram: np.ndarray) -> Key:
    """Krumhansl-Schmuckler estimate from a (12,) pitch-class histogram (index 0 = C)."""
    histogram = np.asarray(histogram, dtype=float)
    if histogram.shape != (12,):
        raise ValueError(f"expected a (12,) histogram, got {histogram.shape}")
    best, best_key = -np.inf, Key(0, False, True)
    for minor, profile in ((False, MAJOR_PROFILE), (True, MINOR_PROFILE)):
        for tonic in range(12):
            r = np.corrcoef(histogram, np.roll(profile, tonic))[0, 1]
            if r > best:  # NaN (a flat histogram) never wins: C major stays
                best, best_key = r, Key(tonic, minor, True)
    return best_key


def pitch_class_histogram(roll: np.ndarray) -> np.ndarray:
    """(12,) frame counts per pitch class of a (T, 88) roll (or (T, 88, 2): frames)."""
    frames = roll[..., 0] if roll.ndim == 3 else roll
    per_key = frames.sum(axis=0, dtype=np.int64)  # (88,)
    return np.bincount((np.arange(88) + 21) % 12, weights=per_key, minlength=12)


def score_key(score: Score) -> Key:
    """The key of the first key-signature event, else an estimate from the pitched notes."""
    if score.key_signatures:
        return Key.from_key_number(score.key_signatures[0][1])
    histogram = np.zeros(12)
    for note in score.pitched_notes:
        histogram[note.pitch % 12] += max(note.end_tick - note.start_tick, 1)
    return estimate_key(histogram)
