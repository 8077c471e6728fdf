"""Paths between codes: :class:`Encoded` (a window of a piece and its code), slerp, and the
bar path of a VAE with one code per segment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Encoded:
    """A window of a piece and its posterior mean (refined, for the segment VAE)."""

    z: np.ndarray | None  # (D,) one code for the window, or (S, D) one per segment
    roll: np.ndarray  # the window that was encoded (silence-padded if short)
    start_bar: int  # first bar used (0-based)
    n_bars: int  # bars inside the window
    total_bars: int  # bars in the whole piece
    transpose: int = 0  # semitones added to reach C; writing undoes it
    tempo: float = 120.0
    time_signature: tuple[int, int] = (4, 4)
    key: object = None  # pianoplay.music.keys.Key of the file as given, when read from one


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation of (D,) vectors; linear when they are (anti)parallel."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    cos = float(np.dot(a, b) / max(na * nb, 1e-12))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6 or abs(np.pi - omega) < 1e-6:
        return (1 - t) * a + t * b
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def slerp_rows(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Row-wise spherical interpolation of (S, D) arrays."""
    return np.stack([slerp(x, y, t) for x, y in zip(a, b)])


def bar_cuts(segments: int, steps: int) -> np.ndarray:
    """(steps,) int: how many of A's ``segments`` open each step of a ``"bars"`` path; all
    at step 1, none at the last, falling evenly between. An interior step keeps at least
    one of A's segments and takes at least one of B's position (when A has two or more)."""
    cuts = np.rint((1.0 - np.linspace(0.0, 1.0, steps)) * segments).astype(int)
    if segments >= 2:
        cuts[1:-1] = np.clip(cuts[1:-1], 1, segments - 1)
    return cuts
