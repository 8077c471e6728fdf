"""What a performance adds to its score: each note's velocity and the sustain pedal per step.

The pedal is read from CC64 (down at value >= 64) of every instrument and put on the
sixteenth grid of the score: ``down[s]`` is the pedal at the middle of step ``s``;
``press[s]`` marks a step nearest to which the pedal went down (a fresh press or a change:
up and down again).
"""

from __future__ import annotations

import numpy as np

from pianoplay.models.performer.features import SPQ, ScoreNotes, piano_notes, seconds_to_quarters

PEDAL = 64


def velocities(pm, score: ScoreNotes) -> np.ndarray:
    """(N,) int velocities of the score's notes, in score order."""
    flat = piano_notes(pm)
    return np.array([n.velocity for _, n in flat], dtype=np.int64)[score.order]


def pedal_intervals(pm) -> np.ndarray:
    """(K, 2) seconds: [press, release) of the sustain pedal, merged over instruments."""
    events = sorted(
        (c.time, c.value >= 64) for inst in pm.instruments for c in inst.control_changes
        if c.number == PEDAL
    )
    out, down_at = [], None
    for time, down in events:
        if down and down_at is None:
            down_at = time
        elif not down and down_at is not None:
            if time > down_at:
                out.append((down_at, time))
            down_at = None
    if down_at is not None:
        out.append((down_at, max(pm.get_end_time(), down_at)))
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def pedal_steps(pm, score: ScoreNotes) -> tuple[np.ndarray, np.ndarray]:
    """(down, press): (n_steps,) bool each, on the score's sixteenth grid."""
    n = score.n_steps
    down = np.zeros(n, dtype=bool)
    press = np.zeros(n, dtype=bool)
    iv = pedal_intervals(pm)
    if len(iv) == 0 or n == 0:
        return down, press
    q = seconds_to_quarters(pm, iv.ravel()).reshape(-1, 2) * SPQ  # in steps
    mid = np.arange(n) + 0.5
    for a, b in q:
        down[(mid >= a) & (mid < b)] = True
        s = int(np.rint(a))
        if 0 <= s < n and b - a > 0.25:
            press[s] = True
    return down, press
