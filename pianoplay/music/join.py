"""One piece from several rolls, each at its own length: the interpolation path's audio.

A VAE decodes every step of a path to its whole window (16 bars), so a tune
shorter than the window comes back with bars of silence after it, and the steps
played one after the other were 38 % silence. :func:`join_steps` trims each
step to where its music is, on the beat, and keeps at most one beat of silence
between two steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Joined:
    """The joined roll, and where each step starts and ends in it (steps)."""

    roll: np.ndarray  # (T, 88) or (T, 88, 2)
    starts: list[int]
    ends: list[int]


def sounding(roll: np.ndarray) -> np.ndarray:
    """(T,) whether any key is down at each step of a (T, 88) or (T, 88, 2) roll."""
    roll = np.asarray(roll)
    frames = roll[..., 0] if roll.ndim == 3 else roll
    return frames.reshape(len(frames), -1).any(axis=1)


def music_span(roll: np.ndarray, steps_per_beat: int) -> tuple[int, int]:
    """[first, end) steps of a roll's music widened to whole beats: whole beats of
    silence before the first note and after the last one are cut. (0, 0) when silent."""
    active = np.flatnonzero(sounding(roll))
    if active.size == 0:
        return 0, 0
    beat = max(1, int(steps_per_beat))
    first = int(active[0]) // beat * beat
    end = min(len(roll), -(-(int(active[-1]) + 1) // beat) * beat)
    return first, end


def join_steps(rolls: list[np.ndarray], steps_per_beat: int) -> Joined:
    """The rolls one after the other, each trimmed to its music (:func:`music_span`),
    with at most one beat of silence where one step ends and the next starts.

    A silent step keeps one beat of silence, so every step still has a place.
    """
    beat = max(1, int(steps_per_beat))
    spans = []
    for roll in rolls:
        first, end = music_span(roll, beat)
        spans.append((first, end) if end > first else (0, min(beat, len(roll))))
    pieces, starts, ends, at = [], [], [], 0
    for i, (roll, (first, end)) in enumerate(zip(rolls, spans)):
        if i + 1 < len(rolls):
            # silence at this step's end plus at the next one's start: at most a beat
            tail = end - 1 - _last_sound(roll, first, end)
            head = _first_sound(rolls[i + 1], *spans[i + 1]) - spans[i + 1][0]
            end -= max(0, min(tail, tail + head - beat))
        piece = np.asarray(roll)[first:end]
        pieces.append(piece)
        starts.append(at)
        at += len(piece)
        ends.append(at)
    joined = np.concatenate(pieces) if pieces else np.zeros((0, 88), np.uint8)
    return Joined(joined, starts, ends)


def _last_sound(roll: np.ndarray, first: int, end: int) -> int:
    active = np.flatnonzero(sounding(np.asarray(roll)[first:end]))
    return first + int(active[-1]) if active.size else end - 1


def _first_sound(roll: np.ndarray, first: int, end: int) -> int:
    active = np.flatnonzero(sounding(np.asarray(roll)[first:end]))
    return first + int(active[0]) if active.size else first


def silent_share(roll: np.ndarray) -> float:
    """Share of a roll's steps where no key is down."""
    return float(1 - sounding(roll).mean()) if len(roll) else 0.0
