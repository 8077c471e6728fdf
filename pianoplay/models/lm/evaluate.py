"""Exact NLL of an LM on a list of rolls, the benchmark protocol.

``nll_per_frame``: nats per frame (summed over the 88 keys), summed over every
frame of every piece except each piece's first, divided by the number of those
frames (as locuslab/TCN ``poly_music``).
"""

from __future__ import annotations

import numpy as np
import torch

from pianoplay.models.lm.data import batch_log_prob, length_batches, make_batch


@torch.no_grad()
def piece_log_probs(model, vocab, rolls: list[np.ndarray], device, batch_size: int = 32,
                    max_frames: int = 16384) -> list[np.ndarray]:
    """log p of every frame of every piece: list of (T_i,) float64 arrays, first frame included."""
    was_training = model.training
    model.eval()
    out: list[np.ndarray | None] = [None] * len(rolls)
    for idx in length_batches([len(r) for r in rolls], batch_size, max_frames=max_frames):
        batch = make_batch([rolls[i] for i in idx], vocab).to(device)
        lp = batch_log_prob(model, batch).double().cpu().numpy()
        for row, i in enumerate(idx):
            out[i] = lp[row, : len(rolls[i])]
    model.train(was_training)
    return out  # type: ignore[return-value]


def nll_metrics(model, vocab, rolls: list[np.ndarray], device, **kw) -> dict:
    lps = piece_log_probs(model, vocab, rolls, device, **kw)
    scored = np.concatenate([lp[1:] for lp in lps])
    metrics = {"nll_per_frame": float(-scored.mean()), "frames": int(scored.size)}
    if vocab is not None:
        unk = np.concatenate([vocab.oov(r)[1:] for r in rolls])
        metrics["oov_rate"] = float(unk.mean())
        metrics["nll_oov_share"] = float(
            -scored[unk].sum() / scored.size
        )  # nats/frame spent on OOV frames
    return metrics


def evaluate(trained, rolls: list[np.ndarray], **opts) -> dict:
    """``pianoplay evaluate`` entry point: metrics of a TrainedLM on ``rolls``."""
    return nll_metrics(trained.model, trained.vocab, rolls, trained.device)
