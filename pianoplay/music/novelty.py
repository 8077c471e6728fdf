"""Is a generated piece new? The best onset F1 of any of its 4-bar windows against any
piece of a set (best offset and transposition; ``shared/MUSIC-MEASURES.md``).

Comparing every window with every piece by :func:`pianoplay.music.measures.onset_f1`
costs about 20 ms a pair (an hour for 64 samples against a training split), so
:class:`CopyIndex` first votes: each onset of a window votes for every (place in the
set, transposition) where the set has an onset of the facing pitch within one step;
only the places with the most votes are scored exactly.

    index = CopyIndex([grid_notes(f, 4) for f in training_files])
    index.best(sample_notes, window_steps=64, hop=16)    # {"f1": 0.41, "piece": 17, ...}
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pianoplay.music.measures import onset_f1, onsets

GAP = 256  # silent steps between pieces on the index's timeline
MAX_TRANSPOSE = 6


class CopyIndex:
    def __init__(self, pieces: Sequence[np.ndarray]) -> None:
        """``pieces``: ``(N, 3)`` notes ``(pitch, onset, end)`` on the sixteenth grid."""
        self.pieces = [np.asarray(p, np.int64).reshape(-1, 3) for p in pieces]
        starts, t, steps, pitches = [], 0, [], []
        for p in self.pieces:
            on = onsets(p)
            starts.append(t)
            if len(on):
                steps.append(on[:, 0] + t)
                pitches.append(on[:, 1])
                t += int(on[:, 0].max()) + GAP
            else:
                t += GAP
        self.starts = np.asarray(starts)
        step = np.concatenate(steps) if steps else np.zeros(0, np.int64)
        pitch = np.concatenate(pitches) if pitches else np.zeros(0, np.int64)
        order = np.lexsort((step, pitch))
        self.step, self.pitch = step[order], pitch[order]
        self.length = t

    def candidates(self, window: np.ndarray, top: int = 3) -> list[tuple[int, int, int]]:
        """The ``top`` (piece, offset, transposition) with most tolerant onset hits."""
        on = onsets(window)
        if len(on) == 0 or len(self.step) == 0:
            return []
        K = 2 * MAX_TRANSPOSE + 1
        keys = []
        for k in range(-MAX_TRANSPOSE, MAX_TRANSPOSE + 1):
            lo = np.searchsorted(self.pitch, on[:, 1] - k, "left")
            hi = np.searchsorted(self.pitch, on[:, 1] - k, "right")
            counts = hi - lo
            total = int(counts.sum())
            if total == 0:
                continue
            first = np.repeat(lo - np.cumsum(counts) + counts, counts)
            idx = first + np.arange(total)
            d = self.step[idx] - np.repeat(on[:, 0], counts)  # place of the window's step 0
            d = d[d >= 0]
            # exact-place votes pick the candidates; onset_f1 then allows one step
            keys.append(d * K + (k + MAX_TRANSPOSE))
        if not keys:
            return []
        votes = np.bincount(np.concatenate(keys))
        best = np.flatnonzero(votes >= max(1, int(votes.max()) // 2))
        best = best[np.argsort(-votes[best], kind="stable")]
        out, seen = [], set()
        for key in best:
            d, k = divmod(int(key), 2 * MAX_TRANSPOSE + 1)
            piece = int(np.searchsorted(self.starts, d, "right") - 1)
            if piece not in seen:
                seen.add(piece)
                out.append((piece, d - int(self.starts[piece]), k - MAX_TRANSPOSE))
            if len(out) == top:
                break
        return out

    def best_window(self, window: np.ndarray, top: int = 3) -> dict:
        """Best onset F1 of one window (notes from step 0) against the set."""
        best = {"f1": 0.0, "piece": -1}
        for piece, _, _ in self.candidates(window, top):
            r = onset_f1(window, self.pieces[piece], steps_per_quarter=4)
            if r["f1"] > best["f1"]:
                best = {**r, "piece": piece}
        return best

    def best(self, notes: np.ndarray, window_steps: int = 64, hop: int = 16,
             top: int = 3) -> dict:
        """Best F1 over every ``window_steps`` window of a piece (a hop apart)."""
        notes = np.asarray(notes, np.int64).reshape(-1, 3)
        best = {"f1": 0.0, "piece": -1, "window_start": 0}
        if len(notes) == 0:
            return best
        end = int(notes[:, 1].max())
        for start in range(0, max(1, end - window_steps + hop + 1), hop):
            sel = notes[(notes[:, 1] >= start) & (notes[:, 1] < start + window_steps)].copy()
            if len(sel) < 4:
                continue
            sel[:, 1:] -= start
            sel[:, 2] = np.minimum(sel[:, 2], window_steps)
            r = self.best_window(sel, top)
            if r["f1"] > best["f1"]:
                best = {**r, "window_start": start}
        return best


def chunks(notes: np.ndarray, size: int = 128, hop: int = 64) -> list[np.ndarray]:
    """A piece's notes as overlapping ``size``-step pieces (each 4-bar window of it lies
    whole in one), so that the copy index scores short pieces, not whole sonatas."""
    out = []
    end = int(notes[:, 1].max()) + 1 if len(notes) else 0
    for start in range(0, max(end, 1), hop):
        sel = notes[(notes[:, 1] >= start) & (notes[:, 1] < start + size)].copy()
        if len(sel):
            sel[:, 1:] -= start
            out.append(sel)
    return out


def repeated_bars(notes: np.ndarray, bar: int = 16, bars: int = 16) -> float:
    """Share of bars 2..``bars`` (``bar`` steps each, from the first onset) that sound
    exactly as an earlier bar of the same piece: (N, 3) notes (pitch, onset, end) on the
    grid. A loop scores high; Bach chorales' first 16 bars score about 0.18 (their
    first two phrases come back), Nottingham waltzes' about 0.05."""
    notes = np.asarray(notes, np.int64).reshape(-1, 3)
    if not len(notes):
        return 0.0
    first = int(notes[:, 1].min())
    seen, again = set(), []
    for i in range(bars):
        lo, hi = first + i * bar, first + (i + 1) * bar
        inside = notes[(notes[:, 1] < hi) & (notes[:, 2] > lo)]
        if not len(inside) and lo >= notes[:, 2].max():
            break  # past the end
        key = tuple(sorted((int(p), max(int(a), lo) - lo, min(int(b), hi) - lo, int(a) >= lo)
                           for p, a, b in inside))
        if i:
            again.append(key in seen)
        seen.add(key)
    return float(np.mean(again)) if again else 0.0
