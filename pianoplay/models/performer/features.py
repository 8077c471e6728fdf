"""What the performer sees of a score: per-note and per-sixteenth-step features.

A score is read from a ``PrettyMIDI`` in score time (quarter notes, through the file's
tempo map), so a sequenced performance with a rubato tempo map and a roll written at
one tempo look alike. Onsets and durations are snapped to sixteenths. Nothing here
reads a velocity or a pedal: those are the targets (``targets.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPQ = 4  # steps per quarter: the performer's grid (sixteenths)
NOTE_FEATURES = 34
STEP_FEATURES = 24


@dataclass
class ScoreNotes:
    """Notes in onset order (then pitch), on the sixteenth grid."""

    onset: np.ndarray  # (N,) int, step
    dur: np.ndarray  # (N,) int, steps >= 1
    pitch: np.ndarray  # (N,) int, MIDI pitch
    bar_len: np.ndarray  # (N,) float, quarters in the note's bar
    bar_pos: np.ndarray  # (N,) float, quarters since the bar line
    beat_len: np.ndarray  # (N,) float, quarters per beat
    qpm: float  # the piece's median tempo, quarter notes per minute
    n_steps: int  # steps up to the last note's end
    order: np.ndarray  # (N,) indices into the flat list of (instrument, note) of the file


def seconds_to_quarters(pm, times: np.ndarray) -> np.ndarray:
    """Score position (quarter notes) of times in seconds, through the tempo map."""
    scales = pm._tick_scales or [(0, 60.0 / (120.0 * pm.resolution))]
    ticks0 = np.array([t for t, _ in scales], dtype=np.float64)
    spt = np.array([s for _, s in scales], dtype=np.float64)
    times0 = np.concatenate([[0.0], np.cumsum(np.diff(ticks0) * spt[:-1])])
    idx = np.clip(np.searchsorted(times0, times, side="right") - 1, 0, None)
    return (ticks0[idx] + (np.asarray(times) - times0[idx]) / spt[idx]) / pm.resolution


def quarters_to_seconds(pm, quarters: np.ndarray) -> np.ndarray:
    """The inverse of :func:`seconds_to_quarters`."""
    scales = pm._tick_scales or [(0, 60.0 / (120.0 * pm.resolution))]
    ticks0 = np.array([t for t, _ in scales], dtype=np.float64)
    spt = np.array([s for _, s in scales], dtype=np.float64)
    times0 = np.concatenate([[0.0], np.cumsum(np.diff(ticks0) * spt[:-1])])
    ticks = np.asarray(quarters, dtype=np.float64) * pm.resolution
    idx = np.clip(np.searchsorted(ticks0, ticks, side="right") - 1, 0, None)
    return times0[idx] + (ticks - ticks0[idx]) * spt[idx]


def piano_notes(pm) -> list:
    """Every pitched note of the file, as (instrument index, note) in file order."""
    return [(i, n) for i, inst in enumerate(pm.instruments) if not inst.is_drum
            for n in inst.notes]


def read_score(pm) -> ScoreNotes:
    """The score of a ``PrettyMIDI`` (no velocities) on the sixteenth grid."""
    flat = piano_notes(pm)
    starts = np.array([n.start for _, n in flat], dtype=np.float64)
    ends = np.array([n.end for _, n in flat], dtype=np.float64)
    pitch = np.array([n.pitch for _, n in flat], dtype=np.int64)
    qs = seconds_to_quarters(pm, starts) if len(flat) else starts
    qe = seconds_to_quarters(pm, ends) if len(flat) else ends
    onset = np.rint(qs * SPQ).astype(np.int64)
    dur = np.maximum(1, np.rint(qe * SPQ).astype(np.int64) - onset)
    order = np.lexsort((pitch, onset))
    onset, dur, pitch = onset[order], dur[order], pitch[order]
    bar_len, bar_pos, beat_len = _metre(pm, onset / SPQ)
    n_steps = int((onset + dur).max()) if len(onset) else 0
    return ScoreNotes(onset, dur, pitch, bar_len, bar_pos, beat_len, _median_qpm(pm),
                      n_steps, order)


def _median_qpm(pm) -> float:
    times, tempi = pm.get_tempo_changes()
    if len(tempi) == 0:
        return 120.0
    end = max(pm.get_end_time(), float(times[-1]) + 1e-3)
    weights = np.diff(np.concatenate([times, [end]]))
    order = np.argsort(tempi)
    cum = np.cumsum(weights[order])
    return float(tempi[order][np.searchsorted(cum, cum[-1] / 2)])


def _metre(pm, q: np.ndarray):
    """Bar length, position in bar and beat length (quarters) at positions ``q``."""
    sigs = [(0.0, 4, 4)]
    if pm.time_signature_changes:
        qts = seconds_to_quarters(pm, np.array([t.time for t in pm.time_signature_changes]))
        sigs = [(float(qt), t.numerator, t.denominator)
                for qt, t in zip(qts, pm.time_signature_changes)]
        if sigs[0][0] > 0:
            sigs.insert(0, (0.0, 4, 4))
    bar_len = np.empty_like(q)
    bar_pos = np.empty_like(q)
    beat_len = np.empty_like(q)
    for k, (q0, num, den) in enumerate(sigs):
        q1 = sigs[k + 1][0] if k + 1 < len(sigs) else np.inf
        sel = (q >= q0) & (q < q1) if k else (q < q1)
        length = max(num * 4.0 / den, 0.25)
        bar_len[sel] = length
        bar_pos[sel] = np.mod(q[sel] - q0, length)
        compound = den == 8 and num % 3 == 0 and num > 3
        beat_len[sel] = 1.5 if compound else 4.0 / den
    return bar_len, bar_pos, beat_len


def _window_count(steps: np.ndarray, values: np.ndarray, n: int, half: int) -> np.ndarray:
    """Sum of ``values`` placed at ``steps`` over the window [s - half, s + half] for every step."""
    grid = np.zeros(n + 1)
    np.add.at(grid, steps, values)
    cum = np.concatenate([[0.0], np.cumsum(grid)])
    s = np.arange(n + 1)
    return cum[np.clip(s + half + 1, 0, n + 1)] - cum[np.clip(s - half, 0, n + 1)]


def note_features(score: ScoreNotes) -> np.ndarray:
    """(N, NOTE_FEATURES) float32."""
    on, dur, p = score.onset, score.dur, score.pitch
    n = len(on)
    f = np.zeros((n, NOTE_FEATURES), dtype=np.float32)
    if n == 0:
        return f
    last = score.n_steps
    # chords: notes sharing an onset
    first = np.r_[True, on[1:] != on[:-1]]
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    sizes = np.diff(np.r_[starts, n])
    size = sizes[group]
    rank_low = np.arange(n) - starts[group]  # 0 = lowest of its onset
    rank_top = size - 1 - rank_low
    chord_top = p[np.r_[starts[1:] - 1, n - 1]]  # per group
    chord_low = p[starts]
    # sounding notes at each onset, held from before: top and bottom of what sounds
    ends = on + dur
    g_on = on[starts]
    held = np.zeros((last + 2, 128), dtype=np.int32)  # held[s, k]: notes of k with on < s < end
    later = ends > on + 1
    np.add.at(held, (on[later] + 1, p[later]), 1)
    np.add.at(held, (ends[later], p[later]), -1)
    alive = np.cumsum(held, axis=0)[g_on] > 0  # (G, 128)
    any_alive = alive.any(1)
    held_top = np.where(any_alive, 127 - np.argmax(alive[:, ::-1], axis=1), -1)
    held_low = np.where(any_alive, np.argmax(alive, axis=1), 200)
    is_top = (rank_top == 0) & (p > held_top[group])
    is_low = (rank_low == 0) & (p < held_low[group])
    # local context: +-1 bar of onsets
    bar_steps = int(round(float(np.median(score.bar_len)) * SPQ)) or 16
    win = _window_count(on, np.ones(n), last, bar_steps)[on] / (2 * bar_steps + 1) * SPQ
    psum = _window_count(on, p.astype(float), last, 2 * bar_steps)[on]
    pcnt = _window_count(on, np.ones(n), last, 2 * bar_steps)[on]
    local_mean = psum / np.maximum(pcnt, 1)
    onsets_win = _window_count(g_on, np.ones(len(g_on)), last, bar_steps)[on]
    onsets_win = onsets_win / (2 * bar_steps + 1) * SPQ
    # previous / next onset distance
    prev_gap = np.r_[16, np.diff(g_on)][group]
    next_gap = np.r_[np.diff(g_on), 16][group]
    # interval to the previous onset's nearest pitch; the top voice to the previous top
    width = int(min(sizes.max(), 16))
    chords = np.full((len(starts), width), 1000, dtype=np.int64)  # pitches of each onset
    cols_in = rank_low < width
    chords[group[cols_in], rank_low[cols_in]] = p[cols_in]
    prev_chord = chords[np.maximum(group - 1, 0)]  # (N, width)
    pick = np.argmin(np.abs(prev_chord - p[:, None]), axis=1)
    prev_int = np.where(group > 0, p - prev_chord[np.arange(n), pick], 0)
    top_idx = np.flatnonzero(is_top)
    top_int = np.zeros(n)
    if len(top_idx) > 1:
        top_int[top_idx[1:]] = np.diff(p[top_idx])
    bar_len, bar_pos, beat_len = score.bar_len, score.bar_pos, score.beat_len
    beat_pos = np.mod(bar_pos, beat_len)
    qn = on / SPQ
    total = max(last / SPQ, 1.0)
    tempo = np.log(score.qpm / 100.0)
    cols = [
        (p - 60) / 24.0,
        np.log2(dur / SPQ) / 3.0,
        bar_pos / bar_len,
        bar_pos == 0,
        beat_pos == 0,
        np.isclose(np.mod(bar_pos, 0.5), 0),
        ~np.isclose(np.mod(bar_pos, 0.5), 0),
        bar_len / 4.0,
        beat_len == 1.5,
        np.minimum(size, 8) / 4.0,
        np.minimum(rank_top, 6) / 4.0,
        np.minimum(rank_low, 6) / 4.0,
        rank_top == 0,
        rank_low == 0,
        is_top,
        is_low,
        (p - local_mean) / 12.0,
        p >= local_mean,
        win / 4.0,
        onsets_win / 4.0,
        np.full(n, tempo),
        win * score.qpm / 60.0 / 16.0,
        qn / total,
        np.minimum(qn / bar_len, 8) / 8.0,
        np.minimum((total - qn) / bar_len, 8) / 8.0,
        np.clip(prev_int, -24, 24) / 12.0,
        np.clip(top_int, -24, 24) / 12.0,
        np.log2(np.minimum(prev_gap, 64) / SPQ) / 3.0,
        np.log2(np.minimum(next_gap, 64) / SPQ) / 3.0,
        (chord_top - chord_low)[group] / 24.0,
        (p - chord_low[group]) / 24.0,
        np.log2(dur / np.maximum(next_gap, 1)) / 3.0,
        (bar_len - bar_pos) <= beat_len,  # last beat of the bar
        np.full(n, np.log2(total / 4.0) / 6.0),
    ]
    f[:] = np.stack([np.asarray(c, dtype=np.float32) for c in cols], axis=1)
    return f


def step_features(score: ScoreNotes) -> np.ndarray:
    """(n_steps, STEP_FEATURES) float32: what each sixteenth step of the score holds."""
    n = score.n_steps
    f = np.zeros((n, STEP_FEATURES), dtype=np.float32)
    if n == 0:
        return f
    on, dur, p = score.onset, score.dur, score.pitch
    ends = np.minimum(on + dur, n)
    onsets = np.bincount(on, minlength=n)[:n].astype(float)
    # sounding keys per step (difference array)
    diff = np.zeros(n + 1)
    np.add.at(diff, on, 1)
    np.add.at(diff, ends, -1)
    sounding = np.cumsum(diff)[:n]
    # chroma of onsets over the beat starting here vs the beat before
    chroma = np.zeros((n + 1, 12))
    np.add.at(chroma, (on, p % 12), np.minimum(dur, 8).astype(float))
    cum = np.concatenate([np.zeros((1, 12)), np.cumsum(chroma, axis=0)])
    s = np.arange(n)
    beat = SPQ
    nxt = cum[np.minimum(s + beat, n + 1)] - cum[s]
    prv = cum[s] - cum[np.maximum(s - beat, 0)]
    norms = np.linalg.norm(nxt, axis=1) * np.linalg.norm(prv, axis=1)
    cos = (nxt * prv).sum(1) / np.maximum(norms, 1e-9)
    harm = (1 - cos) * (onsets > 0)
    # bass: the lowest sounding pitch (held notes too); a new bass note starts at s; the
    # bass moved to another pitch class than the last new bass note's
    alive = np.zeros((n + 1, 128), dtype=np.int16)
    np.add.at(alive, (on, p), 1)
    np.add.at(alive, (ends, p), -1)
    alive = np.cumsum(alive, axis=0)[:n] > 0
    has = alive.any(axis=1)
    low = np.where(has, np.argmax(alive, axis=1), 200)
    starts_low = np.zeros((n, 128), dtype=bool)
    starts_low[on, p] = True
    has = has & starts_low[s, np.minimum(low, 127)]  # a new bass note
    idx = np.flatnonzero(has)
    prev_low = np.full(n, -1)
    if len(idx) > 1:
        prev_low[idx[1:]] = low[idx[:-1]]
    bass_change = has & (prev_low >= 0) & ((low - prev_low) % 12 != 0)
    bass_prev = np.maximum.accumulate(np.where(bass_change | (s == 0), s, 0))
    # longest note starting here
    longest = np.zeros(n)
    np.maximum.at(longest, on, dur.astype(float))
    # metre per step: carry the last note's bar data forward
    note_at = np.searchsorted(on, s, side="right") - 1
    ok = note_at >= 0
    bar_len = np.where(ok, score.bar_len[np.maximum(note_at, 0)], 4.0)
    pos0 = np.where(ok, score.bar_pos[np.maximum(note_at, 0)], 0.0)
    bar_pos = np.mod(pos0 + (s - np.where(ok, on[np.maximum(note_at, 0)], 0)) / SPQ, bar_len)
    beat_len = np.where(ok, score.beat_len[np.maximum(note_at, 0)], 1.0)
    bar_steps = int(round(float(np.median(score.bar_len)) * SPQ)) or 16
    dens = _window_count(on, np.ones(len(on)), n, bar_steps)[:n] / (2 * bar_steps + 1) * SPQ
    tops = np.full(n, -1)
    np.maximum.at(tops, on, p)
    mean_p = np.bincount(on, weights=p, minlength=n)[:n] / np.maximum(onsets, 1)
    steps_since = s - bass_prev
    total = max(n, 1)
    cols = [
        np.minimum(onsets, 8) / 4.0,
        onsets > 0,
        harm,
        has,
        bass_change,
        np.where(has, (low - 48) / 24.0, 0),
        np.minimum(sounding, 12) / 6.0,
        sounding == 0,
        np.log2(np.maximum(longest, 1) / SPQ) / 3.0,
        bar_pos / bar_len,
        np.isclose(bar_pos, 0),
        np.isclose(np.mod(bar_pos, beat_len), 0),
        bar_len / 4.0,
        dens / 4.0,
        np.full(n, np.log(score.qpm / 100.0)),
        s / total,
        np.minimum((total - s) / SPQ, 16) / 16.0,
        np.where(onsets > 0, (mean_p - 60) / 24.0, 0),
        np.where(tops >= 0, (tops - 60) / 24.0, 0),
        np.minimum(steps_since, 32) / 16.0,
        (harm > 0.5) & (onsets > 0),
        np.log2(np.maximum(dens, 0.25)) / 3.0,
        beat_len == 1.5,
        np.full(n, min(n / SPQ / 4, 256) / 256.0),
    ]
    f[:] = np.stack([np.asarray(c, dtype=np.float32) for c in cols], axis=1)
    return f


def harmony_changes(score: ScoreNotes) -> np.ndarray:
    """(n_steps,) bool: steps where the harmony changes (the onsets of the beat from here
    share little with the beat before, cosine of pitch-class weights < 0.5), or the bass
    moves to another pitch class on a beat."""
    f = step_features(score)
    on_beat = f[:, 11] > 0
    return (f[:, 20] > 0) | ((f[:, 4] > 0) & on_beat)
