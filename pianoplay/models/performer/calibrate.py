"""Choose a trained performer's velocity spread and pedal thresholds on validation pieces."""

from __future__ import annotations

import numpy as np
import torch

from pianoplay.models.performer.evaluate import decode_pedal, pedal_metrics, velocity_metrics

MIN_SPREAD = 0.6  # the predicted spread stays at least this share of the real one


def spread_velocities(v: np.ndarray, spread: float) -> np.ndarray:
    """Deviations from the piece's mean scaled by ``spread``, clipped to 1..127."""
    v = np.asarray(v, dtype=np.float64)
    return np.clip(np.rint(v.mean() + spread * (v - v.mean())) if len(v) else v, 1, 127)


@torch.no_grad()
def raw_outputs(model, piece_notes: np.ndarray, piece_steps: np.ndarray):
    """(velocities (N,), P(down) (S,), P(press) (S,)) of one piece."""
    v = model.velocity(torch.from_numpy(piece_notes)[None])[0].numpy()
    p = torch.sigmoid(model.pedal(torch.from_numpy(piece_steps)[None])[0]).numpy()
    return v, p[:, 0], p[:, 1]


def calibrate(model, pieces) -> dict:
    """{"spread", "down_threshold", "press_threshold"} chosen on ``pieces``."""
    outs = [raw_outputs(model, p.notes, p.steps) for p in pieces]
    real = np.mean([np.std(p.velocity) for p in pieces])
    best = None
    for spread in np.arange(1.0, 2.51, 0.1):
        preds = [spread_velocities(v, spread) for v, _, _ in outs]
        m = velocity_metrics(pieces, preds)
        if m["velocity_spread"] < MIN_SPREAD * real and spread < 2.5:
            continue
        if best is None or m["velocity_mae"] < best[0]:
            best = (m["velocity_mae"], float(round(spread, 2)))
    down_t = max(np.arange(0.05, 0.81, 0.05), key=lambda t: pedal_metrics(
        pieces, [decode_pedal(d, q, t, 0.5) for _, d, q in outs])["pedal_frame_f1"])
    press_t = max(np.arange(0.05, 0.91, 0.05), key=lambda t: pedal_metrics(
        pieces, [decode_pedal(d, q, down_t, t) for _, d, q in outs])["pedal_change_f1"])
    return {"spread": best[1], "down_threshold": round(float(down_t), 2),
            "press_threshold": round(float(press_t), 2)}
