"""Hand-split chord vocabulary: each frame is two tokens, the right hand's chord then the left's.

Classical piano frames are too varied for one token per frame (44 % of piano-midi-de's test
frames fall outside a 9,300-frame whole-frame vocabulary). Split at ``split_pitch`` (middle C
by default), each half is far more regular: 4,096 chords per hand leave about 6 % of the test
frames with a hand outside the vocabulary (sixteenth frames, keys normalised).

A frame ``x`` becomes the token pair ``(r, l)``: ``r`` the chord of keys at or above the split,
``l`` the chord below it. A sequence of T frames is 2T tokens ``r_0 l_0 r_1 l_1 ...``.

Token ids (one id space for both hands, so an LM has one softmax)::

    0                UNK   a hand chord not in its hand's vocabulary
    1 .. nR          the right hand's chords, most frequent first (its rest included)
    nR+1 .. nR+nL    the left hand's chords
    nR+nL+1          BOS   input-only start symbol

An LM masks each position to its hand's ids (and UNK). UNK's mass is spread over the
hand's unknown chords by a per-key Bernoulli on that hand's keys, renormalised to them,
so NLLs stay exact (see :class:`pianoplay.models.lm.model.ChordLSTM`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from pianoplay.music.roll import shift_keys
from pianoplay.music.vocab import LOW_PITCH, N_KEYS, UNK_ID, ChordVocab

RIGHT, LEFT = 0, 1  # hand index of a token position: 2t -> RIGHT, 2t + 1 -> LEFT


@dataclass
class HandVocab:
    right: list[tuple[int, ...]]  # key indices 0..87 of each right-hand chord
    left: list[tuple[int, ...]]
    key_probs: np.ndarray  # (88,) Bernoulli of each key over training frames
    split_pitch: int = 60  # MIDI pitch: this key and above are the right hand
    min_count: int = 1

    tokens_per_frame = 2

    def __post_init__(self) -> None:
        self.key_probs = np.clip(np.asarray(self.key_probs, dtype=np.float64), 1e-6, 1 - 1e-6)
        self.split = self.split_pitch - LOW_PITCH  # key index of the split
        self._ids = (
            {c: i + 1 for i, c in enumerate(self.right)},
            {c: i + 1 + len(self.right) for i, c in enumerate(self.left)},
        )
        self._matrix = np.zeros((self.n_out, N_KEYS), np.uint8)  # row 0 = UNK
        hand = np.full(self.n_out, -1, np.int64)
        for h, chords in ((RIGHT, self.right), (LEFT, self.left)):
            for c in chords:
                i = self._ids[h][c]
                self._matrix[i, list(c)] = 1
                hand[i] = h
        self.hand_of = hand  # (n_out,) RIGHT / LEFT, -1 for UNK
        keys = np.zeros((2, N_KEYS), bool)
        keys[RIGHT, self.split :] = True
        keys[LEFT, : self.split] = True
        self.hand_keys = keys  # (2, 88) the keys each hand plays

    # ids -----------------------------------------------------------------
    @property
    def n_out(self) -> int:
        return 1 + len(self.right) + len(self.left)

    @property
    def bos_id(self) -> int:
        return self.n_out

    @property
    def frame_matrix(self) -> np.ndarray:
        """(n_out, 88) uint8 keys of each output id (absolute keys); the UNK row is silence."""
        return self._matrix

    def rest_ids(self) -> tuple[int, int]:
        """The ids of the right and left hands' rests (0 where a rest is not in the vocabulary)."""
        return self._ids[RIGHT].get((), 0), self._ids[LEFT].get((), 0)

    # building ------------------------------------------------------------
    @classmethod
    def build(cls, rolls: Iterable[np.ndarray], max_size: int = 4096, min_count: int = 2,
              transpose: int = 0, split_pitch: int = 60) -> HandVocab:
        """Each hand's ``max_size`` most frequent chords seen at least ``min_count`` times in
        the training rolls (each (T, 88)) and their transpositions by up to +-``transpose``
        semitones (the augmentation the model trains with)."""
        split = split_pitch - LOW_PITCH
        counts = (Counter(), Counter())
        on = np.zeros(N_KEYS)
        total = 0
        for roll in rolls:
            roll = np.asarray(roll) > 0
            on += roll.sum(0)
            total += len(roll)
            for s in range(-transpose, transpose + 1):
                shifted = shift_keys(roll, s) if s else roll
                for h, part in ((RIGHT, shifted[:, split:]), (LEFT, shifted[:, :split])):
                    offset = split if h == RIGHT else 0
                    counts[h].update(
                        tuple(int(k) + offset for k in np.flatnonzero(r)) for r in part
                    )
        kept = [
            [c for c, n in counts[h].most_common(max_size) if n >= min_count] for h in (RIGHT, LEFT)
        ]
        key_probs = (on + 0.5) / (total + 1.0)
        return cls(kept[RIGHT], kept[LEFT], key_probs, split_pitch, min_count)

    # conversions ---------------------------------------------------------
    def hand_tokens(self, roll: np.ndarray) -> np.ndarray:
        """(T, 88) roll -> (T, 2) ids: each frame's right- then left-hand token (UNK if unknown)."""
        roll = np.asarray(roll) > 0
        out = np.zeros((len(roll), 2), np.int64)
        for t, r in enumerate(roll):
            keys = tuple(int(k) for k in np.flatnonzero(r))
            right = tuple(k for k in keys if k >= self.split)
            left = tuple(k for k in keys if k < self.split)
            out[t] = self._ids[RIGHT].get(right, UNK_ID), self._ids[LEFT].get(left, UNK_ID)
        return out

    def encode(self, roll: np.ndarray) -> np.ndarray:
        """(T, 88) roll -> (2T,) token ids ``r_0 l_0 r_1 l_1 ...``."""
        return self.hand_tokens(roll).reshape(-1)

    def token_frames(self, roll: np.ndarray) -> np.ndarray:
        """(T, 88) roll -> (2T, 88) uint8: the keys of each token (a hand's part of its frame)."""
        roll = (np.asarray(roll) > 0).astype(np.uint8)
        out = np.repeat(roll[:, None], 2, 1)  # (T, 2, 88)
        out[:, RIGHT, : self.split] = 0
        out[:, LEFT, self.split :] = 0
        return out.reshape(-1, N_KEYS)

    def oov(self, roll: np.ndarray) -> np.ndarray:
        """(T, 88) -> (T,) bool: a hand of the frame is outside its vocabulary."""
        return (self.hand_tokens(roll) == UNK_ID).any(1)

    def decode_batch(self, tokens: np.ndarray) -> np.ndarray:
        """(..., 2T) ids -> (..., T, 88) uint8 rolls: each pair's keys together. UNK and BOS
        are silent."""
        tokens = np.asarray(tokens, dtype=np.int64)
        tokens = np.where(tokens >= self.n_out, UNK_ID, tokens)
        keys = self._matrix[tokens]  # (..., 2T, 88)
        pairs = keys.reshape(*keys.shape[:-2], -1, 2, N_KEYS)
        return pairs.max(-2)

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        return self.decode_batch(tokens)

    # JSON ----------------------------------------------------------------
    def to_json(self) -> dict:
        return {
            "kind": "hand-vocab",
            "low_pitch": LOW_PITCH,
            "split_pitch": self.split_pitch,
            "min_count": self.min_count,
            "right": [[k + LOW_PITCH for k in c] for c in self.right],
            "left": [[k + LOW_PITCH for k in c] for c in self.left],
            "key_probs": [float(p) for p in self.key_probs],
        }

    @classmethod
    def from_json(cls, obj: dict) -> HandVocab:
        low = int(obj.get("low_pitch", LOW_PITCH))
        return cls(
            [tuple(p - low for p in c) for c in obj["right"]],
            [tuple(p - low for p in c) for c in obj["left"]],
            np.array(obj["key_probs"]),
            int(obj.get("split_pitch", 60)),
            int(obj.get("min_count", 1)),
        )


def load_vocab(obj: dict):
    """A checkpoint's vocabulary JSON -> :class:`ChordVocab` or :class:`HandVocab` by its kind."""
    if obj.get("kind") == "hand-vocab":
        return HandVocab.from_json(obj)
    return ChordVocab.from_json(obj)
