"""Fixed-length windows of a longer roll, as MusicVAE's extractor takes them.

A window starts on a bar line and spans ``n_steps``; the extractor slides by
one bar, keeps every window that fits inside the roll and drops the silent
(or nearly silent) ones, so any uploaded tune can feed a fixed-length model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Window:
    start_bar: int  # index into bar_starts
    n_bars: int  # bar lines inside the window, its first included
    start_step: int
    roll: np.ndarray  # (n_steps, 88) or (n_steps, 88, 2), a copy


def count_notes(roll: np.ndarray) -> int:
    """Notes that start in a roll; a note already sounding at step 0 counts once."""
    if roll.ndim == 3:  # with onsets: a note starts at an onset or after silence
        frames, onset = roll[..., 0] > 0, roll[..., 1] > 0
    else:
        frames, onset = roll > 0, np.zeros(roll.shape, dtype=bool)
    before = np.zeros_like(frames)
    before[1:] = frames[:-1]
    return int((frames & (onset | ~before)).sum())


def extract_windows(roll: np.ndarray, n_steps: int, bar_starts: list[int],
                    min_notes: int = 1) -> list[Window]:
    """Every ``n_steps`` window that starts on a bar line and holds ``min_notes`` notes.

    Parameters
    ----------
    roll : np.ndarray
        ``(T, 88)`` or ``(T, 88, 2)``.
    n_steps : int
        Window length, e.g. 16 bars * 16 steps.
    bar_starts : list[int]
        Step index of each bar (``LoadedRoll.bar_starts``).
    min_notes : int
        Windows with fewer starting notes are skipped (1 = skip silence only).

    Returns
    -------
    list[Window]
        In order of start; empty when the roll is shorter than ``n_steps``.
    """
    if n_steps <= 0:
        raise ValueError(f"n_steps must be positive, got {n_steps}")
    starts = np.asarray(bar_starts, dtype=np.int64)
    windows = []
    for bar, start in enumerate(starts):
        stop = int(start) + n_steps
        if stop > len(roll):
            break
        piece = roll[start:stop]
        if count_notes(piece) < min_notes:
            continue
        n_bars = int(((starts >= start) & (starts < stop)).sum())
        windows.append(Window(start_bar=bar, n_bars=n_bars, start_step=int(start),
                              roll=piece.copy()))
    return windows
