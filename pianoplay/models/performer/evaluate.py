"""Measures of a performance against the real one: velocity and sustain pedal.

Velocity: mean absolute error, Pearson r (pooled over notes, and the mean over pieces),
and the spread (the mean over pieces of the standard deviation of the velocities).
Pedal, on the score's sixteenth steps: frame F1 of the down steps; F1 of the pedal
changes (presses, matched within one step); and at harmony changes where the pedal comes
in held, the share where it is changed (pressed again within a step, or lifted).
"""

from __future__ import annotations

import numpy as np


def decode_pedal(p_down: np.ndarray, p_press: np.ndarray, down_threshold: float = 0.5,
                 press_threshold: float = 0.5, bars: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities per step -> (down, press) bool. A press starts every run of down steps
    and changes the pedal inside a run where P(press) is high and a peak (not lower than
    the step before, higher than the step after); with ``bars`` (bool per step: a bar line)
    the pedal is also changed at every bar line it is held over, as pianists do against
    blurring; of two presses on neighbouring steps the likelier stays."""
    down = p_down > down_threshold
    before = np.r_[False, down[:-1]]
    peak = (p_press >= np.r_[0.0, p_press[:-1]]) & (p_press > np.r_[p_press[1:], 0.0])
    press = down & (((p_press > press_threshold) & peak) | ~before)
    if bars is not None:
        press |= down & bars
        for s in np.flatnonzero(press[1:] & press[:-1]):
            if press[s] and press[s + 1]:
                press[s if p_press[s] < p_press[s + 1] else s + 1] = False
        press |= down & ~before  # every run still starts with a press
    return down, press


def f1(pred: np.ndarray, real: np.ndarray) -> float:
    tp = float((pred & real).sum())
    denom = float(pred.sum() + real.sum())
    return 2 * tp / denom if denom else 1.0


def change_counts(pred: np.ndarray, real: np.ndarray, tol: int = 1) -> tuple[int, int, int]:
    """(matched, predicted, real) presses, each real press matched at most once within tol."""
    ps, rs = np.flatnonzero(pred), np.flatnonzero(real)
    used = np.zeros(len(rs), dtype=bool)
    hit = 0
    for s in ps:
        lo, hi = np.searchsorted(rs, s - tol), np.searchsorted(rs, s + tol, side="right")
        for j in range(lo, hi):
            if not used[j]:
                used[j] = True
                hit += 1
                break
    return hit, len(ps), len(rs)


def harmony_counts(down: np.ndarray, press: np.ndarray, harmony: np.ndarray) -> tuple[int, int]:
    """(changed, held-in) over the harmony changes where the pedal was down the step before."""
    n = len(down)
    changed = held = 0
    for h in np.flatnonzero(harmony):
        if h == 0 or not down[h - 1]:
            continue
        held += 1
        if not down[h] or press[max(h - 1, 0): min(h + 2, n)].any():
            changed += 1
    return changed, held


def pedal_metrics(pieces, pedals) -> dict:
    """``pedals``: per piece (down, press) bool arrays; pieces carry the real ones."""
    tp = pp = rp = 0
    hit = npred = nreal = 0
    ch = held = 0
    for piece, (down, press) in zip(pieces, pedals):
        tp += int((down & piece.down).sum())
        pp += int(down.sum())
        rp += int(piece.down.sum())
        a, b, c = change_counts(press, piece.press)
        hit, npred, nreal = hit + a, npred + b, nreal + c
        a, b = harmony_counts(down, press, piece.harmony)
        ch, held = ch + a, held + b
    frame_f1 = 2 * tp / (pp + rp) if pp + rp else 1.0
    change_f1 = 2 * hit / (npred + nreal) if npred + nreal else 1.0
    return {"pedal_frame_f1": frame_f1, "pedal_change_f1": change_f1,
            "pedal_down_share": pp / max(sum(len(p.down) for p in pieces), 1),
            "harmony_change_rate": ch / held if held else float("nan"),
            "harmony_changes_held_in": held}


def _r(a: np.ndarray, b: np.ndarray) -> float:
    if a.std() < 1e-9 or b.std() < 1e-9:
        return 0.0  # a constant prediction has no correlation
    return float(np.corrcoef(a, b)[0, 1])


def velocity_metrics(pieces, predictions) -> dict:
    """``predictions``: per piece (N,) velocities; pieces carry the real ones."""
    pred = np.concatenate(predictions).astype(float)
    real = np.concatenate([p.velocity for p in pieces]).astype(float)
    return {
        "velocity_mae": float(np.abs(pred - real).mean()),
        "velocity_mae_per_piece": float(np.mean([np.abs(q - p.velocity).mean()
                                                 for q, p in zip(predictions, pieces)])),
        "velocity_r_pooled": _r(pred, real),
        "velocity_r_per_piece": float(np.mean([_r(np.asarray(q, float), p.velocity.astype(float))
                                               for q, p in zip(predictions, pieces)])),
        "velocity_spread": float(np.mean([np.std(q) for q in predictions])),
        "real_velocity_spread": float(np.mean([np.std(p.velocity) for p in pieces])),
    }
