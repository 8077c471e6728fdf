"""``pianoplay evaluate`` for a segment VAE: negative ELBO and reconstruction on a split.

Each piece is cut into consecutive windows of ``WINDOW_SEGMENTS`` segments from its start
(the last one padded with silence; only segments that start inside the piece count). Per
segment: the reconstruction term (the decoder's NLL of every key's off / onset / hold state,
z = the posterior mean), the KL of the posterior from N(0, I), and their sum, the negative
ELBO; and, decoding the posterior mean (each key's most likely state), the share of cells
given back exactly and the onset F1 (exact cell), as the model card's validation numbers.
"""

from __future__ import annotations

import numpy as np
import torch

from pianoplay.errors import DataError
from pianoplay.models.segment_vae.model import ONSET
from pianoplay.models.segment_vae.states import window_states

WINDOW_SEGMENTS = 16


def windows(rolls: list[np.ndarray], segment_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """States (N, S, L, 88) of consecutive windows of every piece, and the mask (N, S) of
    segments that start inside their piece."""
    S, L = WINDOW_SEGMENTS, segment_steps
    states, mask = [], []
    for roll in rolls:
        for start in range(0, len(roll), S * L):
            states.append(window_states(roll, start, S * L).reshape(S, L, 88))
            mask.append(np.arange(S) * L < len(roll) - start)
    return np.asarray(states, np.int64).reshape(-1, S, L, 88), np.asarray(mask, bool)


@torch.no_grad()
def evaluate(trained, rolls: list[np.ndarray], batch_windows: int = 32, **_) -> dict:
    """Metrics of a ``TrainedSegmentVAE`` on (T, 88, 2) rolls (see the module doc)."""
    if any(np.asarray(r).ndim != 3 for r in rolls):
        raise DataError(
            f"{trained.config.get('name', 'a segment VAE')} reads MIDI data sets (sixteenth "
            "notes with onsets), not benchmark rolls; pass a MIDI folder such as "
            "../shared/data/nottingham."
        )
    model, device = trained.model, trained.device
    states, mask = windows(rolls, trained.segment_steps)
    total = {"nll": 0.0, "kl": 0.0, "segments": 0, "cells": 0, "exact": 0,
             "hits": 0, "true_on": 0, "gen_on": 0}
    for k in range(0, len(states), batch_windows):
        x = torch.as_tensor(states[k:k + batch_windows], device=device)
        m = torch.as_tensor(mask[k:k + batch_windows], device=device)
        out = model(x, m, sample=False)
        total["nll"] += float(out["nll"][m].sum())
        total["kl"] += float(out["kl"][m].sum())
        total["segments"] += int(m.sum())
        flat = x[m]
        gen = model.generate(out["mu"][m], temperature=0.0)
        total["cells"] += flat.numel()
        total["exact"] += int((gen == flat).sum())
        true_on, gen_on = flat == ONSET, gen == ONSET
        total["hits"] += int((true_on & gen_on).sum())
        total["true_on"] += int(true_on.sum())
        total["gen_on"] += int(gen_on.sum())
    n = max(total["segments"], 1)
    precision = total["hits"] / max(total["gen_on"], 1)
    recall = total["hits"] / max(total["true_on"], 1)
    return {
        "protocol": f"consecutive windows of {WINDOW_SEGMENTS} segments from each piece's "
        "start; z = posterior mean; NLL of every key's off/onset/hold state; decoding: most "
        "likely states; onset F1 exact-cell",
        "elbo_nll_per_segment": (total["nll"] + total["kl"]) / n,
        "nll_per_segment": total["nll"] / n,
        "kl_per_segment": total["kl"] / n,
        "cell_accuracy": total["exact"] / max(total["cells"], 1),
        "onset_f1_aligned": 2 * precision * recall / max(precision + recall, 1e-9),
        "segments": total["segments"],
        "windows": int(len(states)),
    }
