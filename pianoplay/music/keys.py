"""Musical key of a score, and the transposition that brings it to C.

The benchmark rolls are transposed so every piece is in C major or C minor.
We read the key from the file's first key-signature event when it has one,
and otherwise estimate it with the Krumhansl-Schmuckler algorithm: the
duration-weighted pitch-class histogram is correlated with the 24 rotations
of a major and a minor key profile, and the best one wins.

The profiles are Aarden's (Essen folk-song corpus) rather than Krumhansl and
Kessler's probe-tone ratings: on the Nottingham MIDI files the estimate then
agrees with the transposition of the benchmark ``.mat`` rolls for 92% of the
valid and test tunes (316 of 343), against 87% for the files' own key
signatures and 86% with the Krumhansl-Kessler profiles.

A key signature names two keys, a major key and its relative minor (three flats:
E-flat major or C minor), and most files mark every signature major whatever the
music is. So a signature marked major is read as the pair and the music chooses
(:func:`relative_choice`): the relative minor when the piece ends on that minor's
tonic in the bass and the minor profile fits at least as well as the major one, or
ends on neither tonic and the minor profile fits clearly better (by ``MINOR_MARGIN``
in correlation). Of the 33 piano-midi-de first movements and single pieces whose
title names a key, 31 are then named as the title says (23 from the signature
alone; ``bench/key_names.py``); 23 of the 941 Nottingham tunes marked major are
named as their relative minor. A signature marked minor is taken as written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pianoplay.music.midi import Score

NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Aarden-Essen key profiles (as in music21), tonic first.
MAJOR_PROFILE = np.array([17.7661, 0.145624, 14.9265, 0.160186, 19.8049, 11.3587,
                          0.291248, 22.062, 0.145624, 8.15494, 0.232998, 4.95122])
MINOR_PROFILE = np.array([18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362,
                          0.702494, 18.6161, 4.56621, 1.93186, 7.37619, 1.75623])
MINOR_MARGIN = 0.1  # how much better the minor profile must fit when the ending says nothing


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


def _fit(histogram: np.ndarray, profile: np.ndarray, tonic: int) -> float:
    r = np.corrcoef(histogram, np.roll(profile, tonic))[0, 1]
    return -1.0 if np.isnan(r) else float(r)


def relative_choice(major_tonic: int, histogram: np.ndarray, final_bass: int | None) -> Key:
    """The major key on ``major_tonic`` or its relative minor, whichever the music is in.

    ``histogram`` is the (12,) duration-weighted pitch-class histogram; ``final_bass``
    the pitch class of the lowest note sounding at the end (None for no notes).
    """
    minor_tonic = (major_tonic - 3) % 12
    histogram = np.asarray(histogram, dtype=float)
    major_fit = _fit(histogram, MAJOR_PROFILE, major_tonic)
    minor_fit = _fit(histogram, MINOR_PROFILE, minor_tonic)
    if final_bass == minor_tonic:
        minor = minor_fit >= major_fit
    elif final_bass == major_tonic:
        minor = False
    else:
        minor = minor_fit > major_fit + MINOR_MARGIN
    return Key(minor_tonic, True, False) if minor else Key(major_tonic, False, False)


def pitch_class_histogram(roll: np.ndarray) -> np.ndarray:
    """(12,) frame counts per pitch class of a (T, 88) roll (or (T, 88, 2): frames)."""
    frames = roll[..., 0] if roll.ndim == 3 else roll
    per_key = frames.sum(axis=0, dtype=np.int64)  # (88,)
    return np.bincount((np.arange(88) + 21) % 12, weights=per_key, minlength=12)


def score_key(score: Score, source: str = "events") -> Key:
    """The key of a score.

    ``source="events"``: the first key-signature event (a signature marked major
    read as the pair major / relative minor, see :func:`relative_choice`), else an
    estimate from the pitched notes; ``source="signature"``: the first event as
    written; ``source="estimate"``: always the estimate (what the benchmark rolls'
    transposition follows most closely).
    """
    if source not in ("events", "signature", "estimate"):
        raise ValueError(f"source must be 'events', 'signature' or 'estimate', not {source!r}")
    notes = score.pitched_notes
    if source != "estimate" and score.key_signatures:
        written = Key.from_key_number(score.key_signatures[0][1])
        if source == "signature" or written.minor:
            return written
        return relative_choice(written.tonic, _histogram(notes),
                               _final_bass(notes, score.ticks_per_quarter))
    return estimate_key(_histogram(notes))


def _histogram(notes) -> np.ndarray:
    histogram = np.zeros(12)
    for note in notes:
        histogram[note.pitch % 12] += max(note.end_tick - note.start_tick, 1)
    return histogram


def _final_bass(notes, ticks_per_quarter: int, quarters: int = 2) -> int | None:
    """Pitch class of the lowest note sounding in the last ``quarters`` quarter notes."""
    if not notes:
        return None
    end = max(n.end_tick for n in notes)
    window = quarters * ticks_per_quarter
    return min(n.pitch for n in notes if n.end_tick >= end - window) % 12
