"""Chord vocabulary: each frame's set of sounding keys is one token.

Token ids::

    0            UNK   a frame not in the vocabulary
    1 .. n       the n known frames, most frequent first (silence is one of them)
    n + 1        BOS   input-only start symbol; models never predict it

Models output ``n_out = n + 1`` logits (UNK and the frames). UNK's mass is
spread over every frame *not* in the vocabulary by a per-key Bernoulli model
renormalised to those frames, so

    log p(frame) = log p(token)                               frame known
                 = log p(UNK) + log q(frame) - log(1 - Q_V)   frame unknown

where ``q`` is the Bernoulli model and ``Q_V`` its total mass on the known
frames. This is a proper distribution over all 2**88 frames, so NLLs computed
with it are exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

N_KEYS = 88
LOW_PITCH = 21
UNK_ID = 0


@dataclass
class ChordVocab:
    frames: list[tuple[int, ...]]  # key indices 0..87 of each known frame, id = index + 1
    counts: list[int]
    key_probs: np.ndarray  # (88,) Bernoulli q for the UNK spread
    min_count: int = 1
    min_pieces: int = 1  # a known frame occurs in at least this many training pieces

    tokens_per_frame = 1  # one token per frame (HandVocab: two)

    def __post_init__(self) -> None:
        self.key_probs = np.clip(np.asarray(self.key_probs, dtype=np.float64), 1e-6, 1 - 1e-6)
        self._index = {frame: i + 1 for i, frame in enumerate(self.frames)}
        self._matrix = np.zeros((len(self.frames) + 1, N_KEYS), dtype=np.uint8)  # row 0 = UNK
        for i, frame in enumerate(self.frames):
            self._matrix[i + 1, list(frame)] = 1
        known = self._bernoulli_logprob(self._matrix[1:])
        self.log_unk_norm = float(np.log1p(-np.exp(known).sum()))  # log(1 - Q_V)

    # ids -----------------------------------------------------------------
    @property
    def n_out(self) -> int:
        """Number of output classes: UNK + known frames."""
        return len(self.frames) + 1

    @property
    def bos_id(self) -> int:
        return self.n_out

    @property
    def n_in(self) -> int:
        """Embedding rows: outputs + BOS."""
        return self.n_out + 1

    @property
    def frame_matrix(self) -> np.ndarray:
        """(n_out, 88) uint8 roll of each output id; the UNK row is silence."""
        return self._matrix

    # building ------------------------------------------------------------
    @classmethod
    def build(cls, rolls: Iterable[np.ndarray], min_count: int = 1, max_size: int | None = None,
              min_pieces: int = 1) -> ChordVocab:
        """Learn the vocabulary from training rolls, each (T, 88).

        ``min_pieces=2`` keeps only frames seen in two or more pieces: the frames it drops
        are then UNK in training about as often as unseen frames are in new pieces
        (a leave-one-piece-out estimate), so a model learns how likely UNK is."""
        counter: Counter[tuple[int, ...]] = Counter()
        pieces: Counter[tuple[int, ...]] = Counter()
        on = np.zeros(N_KEYS)
        total = 0
        for roll in rolls:
            roll = np.asarray(roll) > 0
            frames = [tuple(int(k) for k in np.flatnonzero(row)) for row in roll]
            counter.update(frames)
            pieces.update(set(frames))
            on += roll.sum(0)
            total += len(roll)
        items = [
            (f, c) for f, c in counter.most_common() if c >= min_count and pieces[f] >= min_pieces
        ]
        items = items[:max_size] if max_size else items
        # Laplace-smoothed key frequencies: every key keeps a little mass.
        key_probs = (on + 0.5) / (total + 1.0)
        return cls([f for f, _ in items], [c for _, c in items], key_probs, min_count, min_pieces)

    # conversions ---------------------------------------------------------
    def encode(self, roll: np.ndarray) -> np.ndarray:
        """(T, 88) roll -> (T,) int64 token ids (UNK for unknown frames)."""
        roll = np.asarray(roll) > 0
        return np.array(
            [self._index.get(tuple(np.flatnonzero(r)), UNK_ID) for r in roll], dtype=np.int64
        )

    def token_frames(self, roll: np.ndarray) -> np.ndarray:
        """(T, 88) -> (T, 88) uint8: the keys of each token (the frame itself)."""
        return (np.asarray(roll) > 0).astype(np.uint8)

    def oov(self, roll: np.ndarray) -> np.ndarray:
        """(T, 88) -> (T,) bool: the frame is outside the vocabulary."""
        return self.encode(roll) == UNK_ID

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        """(T,) ids -> (T, 88) uint8 roll. UNK and BOS decode to silence."""
        tokens = np.asarray(tokens, dtype=np.int64)
        tokens = np.where(tokens >= self.n_out, UNK_ID, tokens)
        return self._matrix[tokens].copy()

    def decode_batch(self, tokens: np.ndarray) -> np.ndarray:
        """(..., T) ids -> (..., T, 88) uint8 rolls. UNK and BOS decode to silence."""
        tokens = np.asarray(tokens, dtype=np.int64)
        return self._matrix[np.where(tokens >= self.n_out, UNK_ID, tokens)]

    def _bernoulli_logprob(self, roll: np.ndarray) -> np.ndarray:
        x = np.asarray(roll, dtype=np.float64)
        return x @ np.log(self.key_probs) + (1 - x) @ np.log1p(-self.key_probs)

    def unk_logprob(self, roll: np.ndarray) -> np.ndarray:
        """(T, 88) -> (T,) log p(frame | UNK). Only meaningful for unknown frames."""
        return self._bernoulli_logprob(roll) - self.log_unk_norm

    def targets(self, roll: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(T, 88) -> token ids (T,) and the extra log-prob of each frame given its
        token (T,) float32: ``log p(frame|UNK)`` where the token is UNK, else 0.
        ``log p(frame) = log_softmax(logits)[token] + extra``."""
        tokens = self.encode(roll)
        extra = np.where(tokens == UNK_ID, self.unk_logprob(roll), 0.0).astype(np.float32)
        return tokens, extra

    # JSON ----------------------------------------------------------------
    def to_json(self) -> dict:
        return {
            "kind": "chord-vocab",
            "low_pitch": LOW_PITCH,
            "min_count": self.min_count,
            "min_pieces": self.min_pieces,
            "frames": [[int(k) + LOW_PITCH for k in f] for f in self.frames],
            "counts": list(map(int, self.counts)),
            "key_probs": [float(p) for p in self.key_probs],
        }

    @classmethod
    def from_json(cls, obj: dict) -> ChordVocab:
        low = int(obj.get("low_pitch", LOW_PITCH))
        frames = [tuple(int(p) - low for p in f) for f in obj["frames"]]
        return cls(
            frames,
            list(obj["counts"]),
            np.array(obj["key_probs"]),
            int(obj.get("min_count", 1)),
            int(obj.get("min_pieces", 1)),
        )
