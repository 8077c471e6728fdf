"""Key states of a window (0 off, 1 onset, 2 hold per key and frame): what the segment VAE
encodes and decodes. Plain numpy (the trainer's CLI reads this before torch is loaded)."""

from __future__ import annotations

import numpy as np

from pianoplay.music.roll import shift_keys


def window_states(roll: np.ndarray, start: int, n_frames: int, shift: int = 0) -> np.ndarray:
    """(n_frames, 88) int64 key states of ``roll[start:start + n_frames]`` ((T, 88, 2)),
    padded with silence, transposed by ``shift`` semitones (dropping keys pushed off the
    piano)."""
    window = roll[start:start + n_frames]
    frames, onsets = window[..., 0] > 0, window[..., 1] > 0
    states = shift_keys(np.where(onsets, 1, np.where(frames, 2, 0)).astype(np.int64), shift)
    out = np.zeros((n_frames, 88), np.int64)
    out[: len(states)] = states
    return out
