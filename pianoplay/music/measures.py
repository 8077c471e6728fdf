"""Music measures of ``/shared/MUSIC-MEASURES.md``, computed from MIDI files.

Everything is judged from the MIDI a user downloads (a path, the file's bytes,
or a ``pretty_midi.PrettyMIDI``), placed on a grid counted in ticks, so tempo
changes do not matter: ``step = round(tick / (ticks_per_quarter / steps_per_quarter))``
(halves round up) and a note covers steps ``[onset, max(onset + 1, end))``.
Drum tracks are ignored.

- :func:`grid_notes`: the notes of a file on that grid.
- :func:`variety`: held / silent / distinct / notes per frame of the first
  ``n_frames`` eighth-note frames from the first onset, with notes per bar,
  pitch range and a pitch-class histogram.
- :func:`onset_f1`: faithfulness of an output to its input (sixteenth grid),
  best over time offsets and transpositions.
- :func:`pitch_class_overlap` and :func:`set_summary` compare sets of pieces.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pianoplay.errors import MidiError
from pianoplay.music.midi import MidiLimits, Score, load_midi
from pianoplay.music.roll import quantize

N_PITCHES = 128  # frames are compared over every MIDI key, not only the piano's 88
# Files measured here are data-set pieces or our own outputs, not web uploads.
LIMITS = MidiLimits(max_bytes=50_000_000, max_notes=2_000_000, max_seconds=4 * 3600.0,
                    min_bpm=1.0, max_bpm=10_000.0)
SCALAR_KEYS = ("held", "silent", "distinct", "notes_per_frame", "notes_per_bar",
               "pitch_range", "frames")


def grid_notes(midi, steps_per_quarter: int = 2) -> np.ndarray:
    """The pitched notes of a MIDI file on the tick grid.

    Parameters
    ----------
    midi : str, Path, bytes, pretty_midi.PrettyMIDI or pianoplay.music.midi.Score
    steps_per_quarter : int
        Grid resolution: 2 = eighth notes, 4 = sixteenths.

    Returns
    -------
    np.ndarray
        ``(N, 3)`` int64 rows ``(pitch, onset_step, end_step)`` with
        ``end_step > onset_step``, sorted by onset then pitch; ``(0, 3)`` for a
        file without pitched notes.

    Raises
    ------
    MidiError
        For a file that cannot be read.
    """
    score = midi if isinstance(midi, Score) else read_score(midi)
    if score is None:
        return np.zeros((0, 3), dtype=np.int64)
    return quantize(score, steps_per_quarter)[:, :3]


def read_score(midi) -> Score | None:
    """The parsed file (see :func:`grid_notes` for ``midi``), or None when it has no
    pitched notes: a silent generated piece is a result to measure, not a bad file.

    Raises
    ------
    MidiError
        For a file that cannot be read.
    """
    if hasattr(midi, "instruments") and not any(
            inst.notes for inst in midi.instruments if not inst.is_drum):
        return None  # a PrettyMIDI without pitched notes
    try:
        return load_midi(midi, LIMITS)
    except MidiError as err:
        if "contains no notes" in str(err) or "only drum notes" in str(err):
            return None
        raise


def bar_steps(midi, steps_per_quarter: int) -> int:
    """Steps of the first bar: from the first time signature of a Score or
    PrettyMIDI (4/4 when there is none, or for anything else)."""
    num, den = 4, 4
    if isinstance(midi, Score):
        num, den = midi.time_signature
    elif hasattr(midi, "time_signature_changes"):
        changes = sorted(midi.time_signature_changes, key=lambda ts: ts.time)
        if changes and changes[0].time == 0:
            num, den = changes[0].numerator, changes[0].denominator
    return max(1, round(num * 4 * steps_per_quarter / den))


def _notes_and_bar(source, steps_per_quarter: int, steps_per_bar: int | None):
    """``(notes (N, 3), steps_per_bar)`` of a MIDI source or of a note array."""
    if isinstance(source, np.ndarray):
        notes = source
    else:
        score = source if isinstance(source, Score) else read_score(source)
        if score is None:
            notes = np.zeros((0, 3), dtype=np.int64)
        else:
            notes = grid_notes(score, steps_per_quarter)
            if steps_per_bar is None:
                steps_per_bar = bar_steps(score, steps_per_quarter)
    notes = np.asarray(notes, dtype=np.int64).reshape(-1, 3)
    return notes, steps_per_bar or 4 * steps_per_quarter


def window_frames(notes: np.ndarray, n_frames: int = 128, start: int | None = None) -> np.ndarray:
    """Frames of the ``n_frames`` steps from ``start`` (default: the first onset).

    Parameters
    ----------
    notes : np.ndarray
        ``(N, 3)`` rows ``(pitch, onset_step, end_step)``, as :func:`grid_notes`.
    start : int, optional
        First step of the window; notes sounding into it from before count.

    Returns
    -------
    np.ndarray
        ``(n_frames, 128)`` bool; a piece that ends sooner (or has no notes)
        is padded with silent frames.
    """
    if len(notes) == 0:
        return np.zeros((n_frames, N_PITCHES), dtype=bool)
    start = int(notes[:, 1].min()) if start is None else start
    change = np.zeros((n_frames + 1, N_PITCHES), dtype=np.int32)
    on = np.clip(notes[:, 1] - start, 0, n_frames)
    off = np.clip(notes[:, 2] - start, 0, n_frames)
    keep = on < off
    np.add.at(change, (on[keep], notes[keep, 0]), 1)
    np.add.at(change, (off[keep], notes[keep, 0]), -1)
    return np.cumsum(change[:-1], axis=0) > 0


def variety(midi_or_notes, n_frames: int = 128, steps_per_quarter: int = 2,
            steps_per_bar: int | None = None, start: int | None = None) -> dict:
    """Variety and silence of the first ``n_frames`` frames from the first onset.

    Parameters
    ----------
    midi_or_notes : MIDI source (see :func:`grid_notes`) or np.ndarray
        A file, or ``(N, 3)`` notes already on the grid of ``steps_per_quarter``.
    n_frames : int
        Window length in steps (128 eighths = 16 bars of 4/4).
    steps_per_quarter : int
        2 = eighth-note frames, the definition's grid.
    steps_per_bar : int, optional
        For ``notes_per_bar``; default: the file's first time signature (4/4 for notes).
    start : int, optional
        Measure from this step instead of the first onset (a later window, or
        what follows a primer); notes sounding into the window count as frames,
        not as onsets.

    Returns
    -------
    dict
        ``held``: share of frames 1..T-1 that are not silent and equal the frame
        before (all 128 keys); ``silent``: share of frames with no key down;
        ``distinct``: number of different frames; ``notes_per_frame``: mean keys
        down; ``notes_per_bar``: onsets in the window per bar; ``pitch_range``:
        highest minus lowest pitch sounding in the window (semitones);
        ``pitch_class_hist``: ``(12,)`` list of key-down frames per pitch class
        (index 0 = C), as written (no key normalisation); ``frames``: how
        many of the ``n_frames`` the piece fills before it ends (the rest
        are silent, as in the reference numbers: short pieces are padded).
    """
    if n_frames < 2:
        raise ValueError(f"n_frames must be at least 2, got {n_frames}")
    notes, bar = _notes_and_bar(midi_or_notes, steps_per_quarter, steps_per_bar)
    if start is None:
        start = int(notes[:, 1].min()) if len(notes) else 0
    roll = window_frames(notes, n_frames, start)  # (n_frames, 128)
    sounding = roll.any(axis=1)  # (n_frames,)
    same = (roll[1:] == roll[:-1]).all(axis=1)  # (n_frames - 1,)
    onsets = int(((notes[:, 1] >= start) & (notes[:, 1] < start + n_frames)).sum())
    pitches = np.nonzero(roll.any(axis=0))[0]
    per_key = roll.sum(axis=0)  # (128,)
    hist = np.bincount(np.arange(N_PITCHES) % 12, weights=per_key, minlength=12)
    return {
        "held": float((same & sounding[1:]).mean()),
        "silent": float(1.0 - sounding.mean()),
        "distinct": int(len(np.unique(roll, axis=0))),
        "notes_per_frame": float(roll.sum(axis=1).mean()),
        "notes_per_bar": float(onsets * bar / len(roll)),
        "pitch_range": int(pitches.max() - pitches.min()) if len(pitches) else 0,
        "pitch_class_hist": [float(x) for x in hist],
        "frames": int(np.clip(notes[:, 2].max() - start, 0, n_frames)) if len(notes) else 0,
    }


def onsets(notes: np.ndarray) -> np.ndarray:
    """``(M, 2)`` unique ``(step, pitch)`` onsets of ``(N, 3)`` notes, sorted."""
    notes = np.asarray(notes, dtype=np.int64).reshape(-1, 3)
    return np.unique(notes[:, [1, 0]], axis=0)


def onset_f1(output, reference, steps_per_quarter: int = 4, tolerance: int = 1,
             max_transpose: int = 6, span: tuple[int, int] | None = None) -> dict:
    """Onset F1 of ``output`` against ``reference``, best over offsets and transpositions.

    Onsets are ``(step, pitch)`` pairs on the grid of ``steps_per_quarter``
    (4 = sixteenths). With offset ``d`` and transposition ``k``, output step
    ``t`` faces reference step ``t + d`` and output pitch ``p`` faces reference
    pitch ``p - k``. An output onset is a hit when the reference has an onset
    of the facing pitch within ``tolerance`` steps of the facing step
    (precision over every output onset); a reference onset is a hit when the
    output has one likewise (recall over the reference onsets that face the
    output's ``span``, because the output may be a window of the reference).
    Every offset is searched (only offsets within ``tolerance`` of an
    equal-pitch pair can score above 0, so only those are computed) and
    ``k`` in ``-max_transpose..max_transpose``.

    Parameters
    ----------
    output, reference : MIDI source (see :func:`grid_notes`) or np.ndarray
        Files, or ``(N, 3)`` notes ``(pitch, onset, end)`` on this grid.
    span : (int, int), optional
        Output steps ``[start, end)`` the output covers; default ``[0, last note end)``.

    Returns
    -------
    dict
        ``f1``, ``precision``, ``recall`` of the best alignment and its
        ``offset`` (steps) and ``transpose`` (semitones); among equal F1 the
        alignment with the most exact (zero-step) hits wins, then the smallest
        ``|transpose|``, then the smallest ``|offset|``. All 0 when
        either side has no onsets.
    """
    out_notes = _as_notes(output, steps_per_quarter)
    ref_notes = _as_notes(reference, steps_per_quarter)
    best = {"f1": 0.0, "precision": 0.0, "recall": 0.0, "offset": 0, "transpose": 0}
    out_on, ref_on = onsets(out_notes), onsets(ref_notes)
    if len(out_on) == 0 or len(ref_on) == 0:
        return best
    if span is None:
        span = (0, int(out_notes[:, 2].max()))
    o_step, o_pitch = out_on[:, 0], out_on[:, 1]
    r_step, r_pitch = ref_on[:, 0], ref_on[:, 1]
    by_pitch = np.argsort(r_pitch, kind="stable")
    sorted_pitch, sorted_steps = r_pitch[by_pitch], np.sort(r_step)
    shifts = np.arange(-tolerance, tolerance + 1)
    best_exact = 0.0
    for k in sorted(range(-max_transpose, max_transpose + 1), key=lambda k: (abs(k), k)):
        # every (output, reference) pair of facing pitches
        lo = np.searchsorted(sorted_pitch, o_pitch - k, "left")
        hi = np.searchsorted(sorted_pitch, o_pitch - k, "right")
        counts = hi - lo
        if counts.sum() == 0:
            continue
        o_idx = np.repeat(np.arange(len(o_step)), counts)
        first = np.repeat(lo - (np.cumsum(counts) - counts), counts)
        r_idx = by_pitch[np.arange(counts.sum()) + first]
        delta = r_step[r_idx] - o_step[o_idx]  # the offset at which the pair lines up exactly
        # each pair is a hit for the offsets delta - tol .. delta + tol
        d = (delta[None, :] + shifts[:, None]).ravel()
        o_all = np.tile(o_idx, len(shifts))
        r_all = np.tile(r_idx, len(shifts))
        d_min = d.min()
        cand, d_code = np.unique(d - d_min, return_inverse=True)
        cand = cand + d_min  # candidate offsets, sorted
        hits_out = np.bincount(np.unique(d_code * len(o_step) + o_all) // len(o_step),
                               minlength=len(cand))
        inside = (r_step[r_all] - d >= span[0]) & (r_step[r_all] - d < span[1])
        ref_codes = np.unique(d_code[inside] * len(r_step) + r_all[inside])
        hits_ref = np.bincount(ref_codes // len(r_step), minlength=len(cand))
        n_ref = (np.searchsorted(sorted_steps, span[1] + cand, "left")
                 - np.searchsorted(sorted_steps, span[0] + cand, "left"))
        centre = len(delta) * tolerance  # the rows of shift 0: exact alignments
        exact = np.bincount(np.unique(d_code[centre:centre + len(delta)] * len(o_step) + o_idx)
                            // len(o_step), minlength=len(cand))
        precision = hits_out / len(o_step)
        recall = np.divide(hits_ref, n_ref, out=np.zeros(len(cand)), where=n_ref > 0)
        total = precision + recall
        f1 = np.divide(2 * precision * recall, total, out=np.zeros(len(cand)), where=total > 0)
        # best F1; among equals the most exact hits, then the smallest |offset|
        i = np.lexsort((np.abs(cand), -exact, -f1))[0]
        if (f1[i], exact[i] / len(o_step)) > (best["f1"], best_exact):
            best_exact = exact[i] / len(o_step)
            best = {"f1": float(f1[i]), "precision": float(precision[i]),
                    "recall": float(recall[i]), "offset": int(cand[i]), "transpose": int(k)}
    return best


def _as_notes(source, steps_per_quarter: int) -> np.ndarray:
    if isinstance(source, np.ndarray):
        return np.asarray(source, dtype=np.int64).reshape(-1, 3)
    return grid_notes(source, steps_per_quarter)


def normalized_hist(hist) -> np.ndarray:
    """A ``(12,)`` histogram scaled to sum 1 (all zeros stays zeros)."""
    hist = np.asarray(hist, dtype=float).reshape(12)
    total = hist.sum()
    return hist / total if total > 0 else hist


def pitch_class_overlap(hists_a: Sequence, hists_b: Sequence) -> float:
    """Histogram intersection of two sets' pitch-class distributions.

    Parameters
    ----------
    hists_a, hists_b : sequence of (12,) array-likes, or a (N, 12) array
        Per-piece pitch-class histograms (e.g. ``variety(...)["pitch_class_hist"]``).

    Returns
    -------
    float
        ``sum(min(a, b))`` of the two set means of the normalised histograms
        (each piece weighs the same): 1 = the same distribution, 0 = disjoint.
    """
    mean_a = _set_hist(hists_a)
    mean_b = _set_hist(hists_b)
    return float(np.minimum(mean_a, mean_b).sum())


def _set_hist(hists) -> np.ndarray:
    rows = np.asarray(hists, dtype=float).reshape(-1, 12)
    if len(rows) == 0:
        raise ValueError("pitch_class_overlap needs at least one histogram per set")
    return normalized_hist(np.mean([normalized_hist(r) for r in rows], axis=0))


def set_summary(results: Sequence[dict]) -> dict:
    """Means over a set of :func:`variety` dicts.

    Returns
    -------
    dict
        The mean of each scalar measure, ``pieces`` (the count), and
        ``pitch_class_hist``: the mean normalised histogram ``(12,)``.
    """
    if not results:
        raise ValueError("set_summary needs at least one result")
    summary = {key: float(np.mean([r[key] for r in results])) for key in SCALAR_KEYS
               if all(key in r for r in results)}
    summary["pieces"] = len(results)
    summary["pitch_class_hist"] = [float(x) for x in
                                   _set_hist([r["pitch_class_hist"] for r in results])]
    return summary


def onset_f1_in_place(output, reference, lo: int = 0, hi: int = 0, tolerance: int = 1,
                      steps_per_quarter: int = 4) -> float:
    """Onset F1 of ``output`` against ``reference`` in place (no offset or transposition
    search), over the onsets outside steps ``[lo, hi)`` (the bars an infill rewrote), an
    onset within ``tolerance`` steps of one of the same pitch counting as a hit."""
    def kept(source):
        on = onsets(_as_notes(source, steps_per_quarter))
        return {(int(t), int(p)) for t, p in on if t < lo or t >= hi}

    out, ref = kept(output), kept(reference)
    if not out or not ref:
        return 0.0
    near = range(-tolerance, tolerance + 1)
    precision = sum(any((t + d, p) in ref for d in near) for t, p in out) / len(out)
    recall = sum(any((t + d, p) in out for d in near) for t, p in ref) / len(ref)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
