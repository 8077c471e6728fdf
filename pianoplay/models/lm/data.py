"""Rolls -> padded training / scoring batches, shared by both LM families.

Inputs at step t are the frame at t-1 (the start symbol at t = 0); targets are
the frame at t. For the chord-LSTM the ids come from the vocabulary; an
unknown input frame is UNK *and* keeps its keys (the model sees them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


@dataclass
class Batch:
    tokens_in: torch.Tensor  # (B, T) ids; chord: BOS first, roll: 1 = start symbol else 0
    frames_in: torch.Tensor  # (B, T, 88) previous frame (zeros at t = 0)
    tokens_out: torch.Tensor  # (B, T) target ids (zeros for the roll-LSTM)
    frames_out: torch.Tensor  # (B, T, 88) target frames
    mask: torch.Tensor  # (B, T) bool, True on real frames

    def to(self, device) -> Batch:
        return Batch(*(getattr(self, f).to(device) for f in self.__dataclass_fields__))


def make_batch(rolls: list[np.ndarray], vocab) -> Batch:
    """Pad a list of (T_i, 88) rolls into one batch (CPU tensors). A hand vocabulary
    (``vocab.tokens_per_frame == 2``) makes two positions per frame: the batch holds token
    sequences (B, 2T) with each token's own keys in the frame tensors."""
    k = getattr(vocab, "tokens_per_frame", 1)
    B, T = len(rolls), k * max(len(r) for r in rolls)
    frames = np.zeros((B, T, 88), np.uint8)
    tokens = np.zeros((B, T), np.int64)
    mask = np.zeros((B, T), bool)
    for i, roll in enumerate(rolls):
        n = k * len(roll)
        frames[i, :n] = roll > 0 if vocab is None else vocab.token_frames(roll)
        mask[i, :n] = True
        if vocab is not None:
            tokens[i, :n] = vocab.encode(roll)
    frames_in = np.zeros_like(frames)
    frames_in[:, 1:] = frames[:, :-1]
    tokens_in = np.zeros_like(tokens)
    if vocab is not None:
        tokens_in[:, 0] = vocab.bos_id
        tokens_in[:, 1:] = tokens[:, :-1]
    else:
        tokens_in[:, 0] = 1
    return Batch(torch.from_numpy(tokens_in), torch.from_numpy(frames_in), torch.from_numpy(tokens),
                 torch.from_numpy(frames), torch.from_numpy(mask))


def model_inputs(model, batch: Batch):
    """The first forward() arguments of either family."""
    from pianoplay.models.lm.model import ChordLSTM

    if isinstance(model, ChordLSTM):  # token ids
        return batch.tokens_in, batch.frames_in
    return batch.tokens_in == 1, batch.frames_in  # roll-LSTM: a start flag


def batch_log_prob(model, batch: Batch) -> torch.Tensor:
    """(B, T) exact log p of every target frame (padding positions are junk); a hand model's
    two tokens of a frame are summed."""
    h, _ = model(*model_inputs(model, batch))
    lp = model.frame_log_prob(h, batch.tokens_out, batch.frames_out)
    if getattr(model.config, "hands", False):
        lp = lp.view(lp.shape[0], -1, 2).sum(-1)
    return lp


def length_batches(lengths: list[int], batch_size: int, rng: np.random.Generator | None = None,
                   max_frames: int | None = None) -> list[list[int]]:
    """Indices grouped by similar length (little padding); shuffled when ``rng`` is given.
    ``max_frames`` caps B * T_max so long pieces come in smaller batches."""
    lengths = np.asarray(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
    else:  # jitter so batches differ between epochs
        order = np.argsort(lengths * rng.uniform(0.9, 1.1, len(lengths)), kind="stable")
    batches, cur = [], []
    for i in order:
        cur.append(int(i))
        longest = max(lengths[j] for j in cur)
        if len(cur) >= batch_size or (max_frames and len(cur) * longest >= max_frames):
            batches.append(cur)
            cur = []
    if cur:
        batches.append(cur)
    if rng is not None:
        rng.shuffle(batches)
    return batches


def load_rolls(path: str | Path, split: str, representation: dict) -> list[np.ndarray]:
    """A benchmark file (.mat / .pickle) or a MIDI data set folder, one split."""
    path = Path(path)
    if path.suffix in (".mat", ".pickle", ".pkl"):
        from pianoplay.data.benchmark import load_benchmark

        return load_benchmark(path, split)
    from pianoplay.data.load import load_split

    return load_split(path, split, representation)
