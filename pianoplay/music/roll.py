"""Piano rolls: a :class:`~pianoplay.music.midi.Score` on a grid of steps, and back.

A roll is a ``(T, 88)`` uint8 array, column ``k`` = MIDI pitch ``21 + k``;
with onsets it is ``(T, 88, 2)``: channel 0 the sounding frames, channel 1
the steps where a note starts, so repeated notes survive the round trip.

The grid comes from ticks: one step is ``ticks_per_quarter / steps_per_quarter``
ticks. Note starts and ends snap to the nearest step (so triplets land on the
nearest grid point) and every note keeps at least one step. Bars follow the
time signatures: a bar has ``numerator * steps_per_quarter * 4 / denominator``
steps (6/8 at two steps per quarter: 6 steps).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from pianoplay.errors import MidiError
from pianoplay.music.keys import Key, score_key, shift_to_c
from pianoplay.music.midi import MidiLimits, Score, load_midi

LOW_PITCH = 21
N_KEYS = 88


@dataclass
class LoadedRoll:
    """A MIDI file as a roll, with what is needed to put it back on a timeline."""

    roll: np.ndarray  # (T, 88) uint8, or (T, 88, 2) with onsets
    transpose: int  # semitones added to reach C; roll_to_midi(transpose=-transpose) undoes it
    steps_per_bar: int  # of the first time signature
    bar_starts: list[int]  # step index where each bar starts, all < T
    tempo: float  # initial quarter notes per minute
    time_signature: tuple[int, int]  # the first one
    key: Key  # of the file as given, before transposition


def quantize(score: Score, steps_per_quarter: int = 2, drop_short: bool = False) -> np.ndarray:
    """Pitched (non-drum) notes on the step grid.

    A note whose start and end snap to the same step keeps one step, or is
    dropped with ``drop_short`` (as the benchmark rolls were made: at eighth
    notes a run of sixteenths then stays one note per step instead of two).

    Returns
    -------
    np.ndarray
        ``(N, 4)`` int64 rows ``(pitch, start_step, end_step, velocity)``,
        ``end_step > start_step``.
    """
    if steps_per_quarter < 1:
        raise ValueError(f"steps_per_quarter must be at least 1, got {steps_per_quarter}")
    notes = score.pitched_notes
    if not notes:
        return np.zeros((0, 4), dtype=np.int64)
    table = np.array([(n.pitch, n.start_tick, n.end_tick, n.velocity) for n in notes],
                     dtype=np.int64)
    tpq = score.ticks_per_quarter
    # Exact integer rounding of tick * spq / tpq, halves rounding up.
    table[:, 1:3] = (2 * table[:, 1:3] * steps_per_quarter + tpq) // (2 * tpq)
    if drop_short:
        return table[table[:, 2] > table[:, 1]]
    table[:, 2] = np.maximum(table[:, 2], table[:, 1] + 1)
    return table


def score_to_roll(score: Score, steps_per_quarter: int = 2, onsets: bool = False,
                  transpose: int = 0, drop_short: bool = False) -> np.ndarray:
    """Piano roll of a score's pitched notes.

    Parameters
    ----------
    score : Score
    steps_per_quarter : int
        Grid resolution; 2 = eighth notes (the benchmark), 4 = sixteenths.
    onsets : bool
        Add a second channel marking note starts.
    transpose : int
        Semitones added to every pitch before rolling.
    drop_short : bool
        Drop notes that snap to zero steps instead of keeping one (see :func:`quantize`).

    Returns
    -------
    np.ndarray
        ``(T, 88)`` uint8, or ``(T, 88, 2)`` with onsets; ``T`` is the last
        note's end step. Notes outside pitch 21..108 are dropped with a warning.
    """
    notes = quantize(score, steps_per_quarter, drop_short)
    notes[:, 0] += transpose
    inside = (notes[:, 0] >= LOW_PITCH) & (notes[:, 0] < LOW_PITCH + N_KEYS)
    if not inside.all():
        warnings.warn(f"dropped {int((~inside).sum())} notes outside the piano's range "
                      "(MIDI pitch 21..108).", stacklevel=2)
        notes = notes[inside]
    if len(notes) == 0:
        raise MidiError("the file has no pitched notes within the piano's range (A0..C8).")
    keys, starts, ends = notes[:, 0] - LOW_PITCH, notes[:, 1], notes[:, 2]
    length = int(ends.max())
    # +1 at each start, -1 at each end; a running sum > 0 means sounding.
    change = np.zeros((length + 1, N_KEYS), dtype=np.int32)
    np.add.at(change, (starts, keys), 1)
    np.add.at(change, (ends, keys), -1)
    frames = (np.cumsum(change[:-1], axis=0) > 0).astype(np.uint8)
    if not onsets:
        return frames
    onset = np.zeros_like(frames)
    onset[starts, keys] = 1
    return np.stack([frames, onset], axis=-1)


def roll_to_notes(roll: np.ndarray) -> np.ndarray:
    """Notes of a binary roll as ``(N, 3)`` int64 rows ``(key, start_step, end_step)``.

    Without onsets a held key is one note until it stops; with onsets a new
    onset also ends the previous note and starts a new one.
    """
    roll = np.asarray(roll)
    if roll.ndim == 3 and roll.shape[1:] == (N_KEYS, 2):
        onset = roll[..., 1] > 0
        frames = (roll[..., 0] > 0) | onset
    elif roll.ndim == 2 and roll.shape[1] == N_KEYS:
        frames, onset = roll > 0, np.zeros(roll.shape, dtype=bool)
    else:
        raise MidiError(f"a piano roll must have shape (T, 88) or (T, 88, 2), not {roll.shape}.")
    off = np.zeros((1, N_KEYS), dtype=bool)
    now = np.concatenate([frames, off])  # (T + 1, 88)
    before = np.concatenate([off, frames])
    onset = np.concatenate([onset, off])
    start = now & (onset | ~before)
    end = before & (~now | start)
    # Transposed so nonzero() orders by key, then time: the k-th start of a
    # key pairs with the k-th end of the same key.
    key_s, t_start = np.nonzero(start.T)
    key_e, t_end = np.nonzero(end.T)
    assert np.array_equal(key_s, key_e)
    return np.stack([key_s, t_start, t_end], axis=1).astype(np.int64)


def roll_to_midi(roll: np.ndarray, steps_per_quarter: int = 2, tempo: float = 120.0,
                 program: int = 0, velocity: int = 80, time_signature: tuple[int, int] = (4, 4),
                 transpose: int = 0):
    """A roll as a one-instrument ``pretty_midi.PrettyMIDI``.

    Parameters
    ----------
    roll : np.ndarray
        ``(T, 88)`` (a held key is one note until it stops) or ``(T, 88, 2)``
        (a new onset starts a new note).
    steps_per_quarter, tempo : int, float
        Step length is ``60 / (tempo * steps_per_quarter)`` seconds.
    program, velocity : int
        General MIDI program (0 = acoustic grand) and velocity of every note.
    time_signature : (int, int)
        Written at time 0.
    transpose : int
        Semitones added to every pitch (``-LoadedRoll.transpose`` undoes key
        normalisation); notes pushed outside MIDI 0..127 are dropped with a warning.
    """
    import pretty_midi

    if steps_per_quarter < 1 or tempo <= 0:
        raise ValueError(f"need steps_per_quarter >= 1 and tempo > 0, got "
                         f"{steps_per_quarter} and {tempo}")
    notes = roll_to_notes(roll)
    resolution = 480 if 480 % steps_per_quarter == 0 else 120 * steps_per_quarter
    pm = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=float(tempo))
    pm.time_signature_changes.append(pretty_midi.TimeSignature(*time_signature, 0.0))
    instrument = pretty_midi.Instrument(program=int(program), name="piano")
    step = 60.0 / (tempo * steps_per_quarter)
    pitches = notes[:, 0] + LOW_PITCH + transpose
    inside = (pitches >= 0) & (pitches <= 127)
    if not inside.all():
        warnings.warn(f"dropped {int((~inside).sum())} notes transposed outside MIDI 0..127.",
                      stacklevel=2)
    for pitch, (_, start, end) in zip(pitches[inside], notes[inside]):
        instrument.notes.append(pretty_midi.Note(velocity=int(velocity), pitch=int(pitch),
                                                 start=start * step, end=end * step))
    instrument.notes.sort(key=lambda n: (n.start, n.pitch))
    pm.instruments.append(instrument)
    return pm


def bar_starts(score: Score, steps_per_quarter: int, n_steps: int) -> tuple[list[int], int]:
    """Step index of every bar that starts before ``n_steps``, and the first bar's length.

    Bars restart at each time-signature change; a file without one is 4/4.
    """
    tpq = score.ticks_per_quarter
    signatures = list(score.time_signatures)
    if not signatures or signatures[0][0] != 0:
        signatures.insert(0, (0, 4, 4))
    end_tick = n_steps * tpq / steps_per_quarter
    starts: list[int] = []
    for i, (tick, num, den) in enumerate(signatures):
        stop = signatures[i + 1][0] if i + 1 < len(signatures) else end_tick
        bar_ticks = num * tpq * 4 / den
        bar = float(tick)
        while bar < stop and bar < end_tick:
            step = int(np.floor(bar * steps_per_quarter / tpq + 0.5))
            if step < n_steps and (not starts or step > starts[-1]):
                starts.append(step)
            bar += bar_ticks
    _, num, den = signatures[0]
    return starts, max(1, round(num * steps_per_quarter * 4 / den))


def load_roll(source, steps_per_quarter: int = 2, normalize_key: bool = True,
              onsets: bool = False, limits: MidiLimits | None = None,
              match_benchmark: bool = False) -> LoadedRoll:
    """Load a MIDI file (path, bytes, PrettyMIDI or parsed Score) as a :class:`LoadedRoll`.

    With ``normalize_key`` the roll is transposed by the smallest shift
    (-6..+5 semitones) that moves the tonic to C; see :mod:`pianoplay.music.keys`.

    ``match_benchmark`` reproduces how the benchmark ``.mat`` rolls were made
    from the Nottingham MIDI files (99.7% identical frames where the
    transposition agrees): the key is always estimated, notes that snap to
    zero steps are dropped, and the first step is cut (``.mat`` frame ``t`` is
    MIDI step ``t + 1``; ``bar_starts`` move with it).
    """
    score = source if isinstance(source, Score) else load_midi(source, limits)
    key = score_key(score, "estimate" if match_benchmark else "events")
    shift = shift_to_c(key.tonic) if normalize_key else 0
    roll = score_to_roll(score, steps_per_quarter, onsets=onsets, transpose=shift,
                         drop_short=match_benchmark)
    starts, steps_per_bar = bar_starts(score, steps_per_quarter, len(roll))
    if match_benchmark:
        roll = roll[1:]
        starts = [s - 1 for s in starts if s >= 1]
    return LoadedRoll(roll=roll, transpose=shift, steps_per_bar=steps_per_bar,
                      bar_starts=starts, tempo=score.tempo,
                      time_signature=score.time_signature, key=key)


def shift_keys(roll: np.ndarray, semitones: int) -> np.ndarray:
    """``roll`` (T, 88) or (T, 88, 2) moved ``semitones`` up (down when negative); keys
    pushed off the piano are dropped."""
    if not semitones:
        return roll
    out = np.zeros_like(roll)
    if semitones > 0:
        out[:, semitones:] = roll[:, :-semitones]
    else:
        out[:, :semitones] = roll[:, -semitones:]
    return out
