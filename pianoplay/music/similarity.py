"""Set similarity of ``shared/MUSIC-MEASURES.md``: is a set of pieces distributed like
real music of a data set? (After Mittal et al. 2021: framewise statistics and the
overlap of their distributions, here with histograms.)

Each piece (a MIDI source, or ``(N, 3)`` notes ``(pitch, onset, end)`` on the
sixteenth grid) is cut from its first onset into frames of 8 steps (two quarter
notes), at most 64 frames. Per frame: onsets, mean pitch and pitch spread of the
notes starting in it, their mean duration in steps, and keys down (sounding keys
summed over its steps / 8). Per set: a normalised histogram of each statistic over
all frames, and the duration-weighted pitch-class histogram with each piece rotated
to C by the Krumhansl-Kessler profiles. Similarity = mean histogram intersection.

    sim = set_similarity(generated_midis, real_test_midis)   # 1.0 = same distribution
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pianoplay.music.measures import grid_notes

FRAME = 8  # steps (sixteenths) a frame: two quarter notes
MAX_FRAMES = 64
# statistic -> histogram bin edges (values beyond the ends go to the end bins)
BINS = {
    "onsets": np.arange(0, 27, 1.0),
    "mean_pitch": np.arange(30, 102, 2.0),
    "pitch_spread": np.arange(0, 26, 1.0),
    "duration": np.arange(0, 17.5, 0.5),
    "keys_down": np.arange(0, 8.25, 0.25),
}
STATISTICS = (*BINS, "pitch_class")
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def piece_notes(source) -> np.ndarray:
    """(N, 3) int64 notes on the sixteenth grid of a MIDI source or a note array."""
    if isinstance(source, np.ndarray):
        return np.asarray(source, dtype=np.int64).reshape(-1, 3)
    return grid_notes(source, steps_per_quarter=4)


def frame_statistics(notes: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame values of each statistic of one piece (frames without an onset have
    no mean pitch, spread or duration)."""
    notes = np.asarray(notes, dtype=np.int64).reshape(-1, 3)
    out = {k: [] for k in BINS}
    if len(notes) == 0:
        return {k: np.zeros(0) for k in BINS}
    first = int(notes[:, 1].min())
    n_frames = min(MAX_FRAMES, -(-(int(notes[:, 2].max()) - first) // FRAME))
    steps = n_frames * FRAME
    down = np.zeros(steps)
    for _, on, end in notes:
        a, b = max(on - first, 0), min(max(end, on + 1) - first, steps)
        if a < b:
            down[a:b] += 1
    rel = notes[:, 1] - first
    for f in range(n_frames):
        starting = notes[(rel >= f * FRAME) & (rel < (f + 1) * FRAME)]
        out["onsets"].append(len(starting))
        out["keys_down"].append(down[f * FRAME:(f + 1) * FRAME].sum() / FRAME)
        if len(starting):
            out["mean_pitch"].append(starting[:, 0].mean())
            out["pitch_spread"].append(starting[:, 0].std())
            out["duration"].append(np.maximum(starting[:, 2] - starting[:, 1], 1).mean())
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def pitch_classes_in_c(notes: np.ndarray) -> np.ndarray:
    """(12,) duration-weighted pitch classes of one piece, rotated so its best
    Krumhansl-Kessler key (major or minor) is on C."""
    notes = np.asarray(notes, dtype=np.int64).reshape(-1, 3)
    pcs = np.zeros(12)
    np.add.at(pcs, notes[:, 0] % 12, np.maximum(notes[:, 2] - notes[:, 1], 1))
    if not pcs.any():
        return pcs
    best, shift = -np.inf, 0
    for tonic in range(12):
        rotated = np.roll(pcs, -tonic)
        for profile in (MAJOR, MINOR):
            r = np.corrcoef(rotated, profile)[0, 1]
            if np.isfinite(r) and r > best:
                best, shift = r, tonic
    return np.roll(pcs, -shift)


def set_histograms(pieces: Sequence) -> dict[str, np.ndarray]:
    """Normalised histogram of each statistic over all frames of a set of pieces."""
    values = {k: [] for k in BINS}
    pcs = np.zeros(12)
    for source in pieces:
        notes = piece_notes(source)
        for k, v in frame_statistics(notes).items():
            values[k].append(v)
        pcs += pitch_classes_in_c(notes)
    out = {}
    for k, edges in BINS.items():
        v = np.concatenate(values[k]) if values[k] else np.zeros(0)
        v = np.clip(v, edges[0], edges[-1] - 1e-9)
        hist, _ = np.histogram(v, bins=edges)
        out[k] = hist / max(hist.sum(), 1)
    out["pitch_class"] = pcs / max(pcs.sum(), 1e-12)
    return out


def histogram_similarity(a: dict[str, np.ndarray], b: dict[str, np.ndarray],
                         statistics: Sequence[str] = STATISTICS) -> dict[str, float]:
    """Intersection of each statistic's histograms and their mean (``"similarity"``)."""
    parts = {k: float(np.minimum(a[k], b[k]).sum()) for k in statistics}
    return {**parts, "similarity": float(np.mean(list(parts.values())))}


def set_similarity(pieces: Sequence, reference: Sequence,
                   statistics: Sequence[str] = STATISTICS) -> dict[str, float]:
    """Set similarity of ``pieces`` to ``reference`` (both sequences of MIDI sources or
    note arrays): per statistic and the mean, ``"similarity"``."""
    return histogram_similarity(set_histograms(pieces), set_histograms(reference), statistics)
