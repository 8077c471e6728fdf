"""The music measures of MUSIC-MEASURES.md on real files (pianoplay.music.measures)."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from pianoplay.music.measures import (
    grid_notes,
    onset_f1,
    pitch_class_overlap,
    set_summary,
    variety,
)
from pianoplay.music.midi import load_midi
from pianoplay.music.roll import roll_to_midi


def test_grid_counts_ticks_and_keeps_one_step(midi_file):
    # tpq 480, eighth grid: a step is 240 ticks; 359 -> 1, 360 -> 2 (halves round up);
    # a 10-tick note keeps one step; drums (channel 9) are ignored.
    path = midi_file([(60, 0, 359), (62, 360, 370), (64, 480, 1440)], bpm=77)
    assert grid_notes(path, 2).tolist() == [[60, 0, 1], [62, 2, 3], [64, 2, 6]]
    drums = midi_file([(36, 0, 480)], channel=9)
    assert grid_notes(drums, 2).shape == (0, 3)
    assert grid_notes(path.read_bytes(), 4).tolist() == [[60, 0, 3], [62, 3, 4], [64, 4, 12]]


def test_variety_by_hand():
    # from the first onset (step 2): frames 2-5 hold C, 6-7 silent, 8-9 hold C+E
    notes = np.array([[60, 2, 6], [60, 8, 10], [64, 8, 10]])
    v = variety(notes, n_frames=8)
    assert v["silent"] == pytest.approx(2 / 8)
    assert v["held"] == pytest.approx(4 / 7)  # frames 1, 2, 3 and 7 repeat a sounding frame
    assert v["distinct"] == 3
    assert v["notes_per_frame"] == pytest.approx((4 + 4) / 8)
    assert v["pitch_range"] == 4
    assert v["pitch_class_hist"][0] == 6 and v["pitch_class_hist"][4] == 2
    assert v["notes_per_bar"] == pytest.approx(3 * 8 / 8)
    later = variety(notes, n_frames=4, start=4)  # C sounds into the window: a frame, no onset
    assert later["notes_per_frame"] == pytest.approx(0.5) and later["notes_per_bar"] == 0
    # a piece ending early is padded with silence; a silent piece measures as silence
    assert variety(np.array([[60, 0, 4]]), n_frames=8)["silent"] == pytest.approx(0.5)
    empty = variety(roll_to_midi(np.zeros((16, 88), np.uint8)))
    assert empty["silent"] == 1.0 and empty["distinct"] == 1 and empty["notes_per_frame"] == 0


def test_variety_reproduces_the_nottingham_reference(nottingham_test_files):
    # MUSIC-MEASURES.md: held 0.25, silent 0.01, distinct 23.7, notes 3.9 (64 test pieces)
    s = set_summary([variety(f) for f in nottingham_test_files[:64]])
    assert s["held"] == pytest.approx(0.25, abs=0.01)
    assert s["silent"] == pytest.approx(0.01, abs=0.005)
    assert s["distinct"] == pytest.approx(23.7, abs=0.5)
    assert s["notes_per_frame"] == pytest.approx(3.9, abs=0.1)
    assert s["pieces"] == 64


def test_onset_f1_of_a_file_against_itself_shifted_and_transposed(nottingham_test_files):
    path = nottingham_test_files[0]
    assert onset_f1(path, path)["f1"] == 1.0
    notes = grid_notes(path, 4)
    num, den = load_midi(path).time_signature
    bar = 16 * num // den  # sixteenths per bar
    # the output is the piece from bar 3 on, up two semitones
    window = notes[notes[:, 1] >= 3 * bar].copy()
    window[:, 1:] -= 3 * bar
    window[:, 0] += 2
    best = onset_f1(window, path)
    assert best == {"f1": 1.0, "precision": 1.0, "recall": 1.0, "offset": 3 * bar,
                    "transpose": 2}
    # the same written to MIDI and read back
    pm = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=120.0)  # a sixteenth: 0.125 s
    pm.instruments.append(pretty_midi.Instrument(0))
    pm.instruments[0].notes = [pretty_midi.Note(80, int(p), s * 0.125, e * 0.125)
                               for p, s, e in window]
    assert onset_f1(pm, path)["f1"] == 1.0


def test_onset_f1_of_unrelated_tunes_is_low(nottingham_test_files):
    files = nottingham_test_files
    scores = [onset_f1(files[i], files[i + 85])["f1"] for i in range(0, 80, 8)]
    assert 0.1 < np.mean(scores) < 0.35


def _brute_force(out, ref, tol=1, max_t=2, span=None):
    """Every offset and transposition, with Python sets."""
    o = {(int(s), int(p)) for p, s, _ in out}
    r = {(int(s), int(p)) for p, s, _ in ref}
    span = span or (0, int(out[:, 2].max()))
    best = 0.0
    for k in range(-max_t, max_t + 1):
        for d in range(-60, 61):
            hit_o = sum(any((s + d + e, p - k) in r for e in range(-tol, tol + 1)) for s, p in o)
            facing = [(s, p) for s, p in r if span[0] <= s - d < span[1]]
            hit_r = sum(any((s - d + e, p + k) in o for e in range(-tol, tol + 1))
                        for s, p in facing)
            prec = hit_o / len(o)
            rec = hit_r / len(facing) if facing else 0.0
            if prec + rec > 0:
                best = max(best, 2 * prec * rec / (prec + rec))
    return best


def test_onset_f1_equals_the_brute_force_on_random_cases():
    rng = np.random.default_rng(0)
    for case in range(12):
        def notes(n, length):
            start = rng.integers(0, length, n)
            return np.stack([rng.integers(60, 66, n), start, start + rng.integers(1, 4, n)], 1)

        out, ref = notes(rng.integers(1, 8), 16), notes(rng.integers(1, 14), 30)
        if case % 3 == 0:  # a noisy window of the reference
            out = ref[ref[:, 1] >= 5].copy()
            out[:, 1:] -= 5
            out[:, 1] = np.maximum(out[:, 1] + rng.integers(-1, 2, len(out)), 0)
            out[:, 2] = out[:, 1] + 1
            if len(out) == 0:
                continue
        span = (0, 20) if case % 4 == 1 else None
        fast = onset_f1(out, ref, max_transpose=2, span=span)["f1"]
        assert fast == pytest.approx(_brute_force(out, ref, span=span)), case


def test_pitch_class_overlap_and_summary():
    c_major = [1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1]
    assert pitch_class_overlap([c_major], [np.array(c_major) * 5]) == pytest.approx(1.0)
    assert pitch_class_overlap([[1] + [0] * 11], [[0, 1] + [0] * 10]) == 0.0
    assert pitch_class_overlap([[2] + [0] * 11], [[1, 1] + [0] * 10]) == pytest.approx(0.5)
    s = set_summary([variety(np.array([[60, 0, 8]]), 8), variety(np.array([[62, 0, 4]]), 8)])
    assert s["silent"] == pytest.approx(0.25) and s["pieces"] == 2
    assert s["pitch_class_hist"][0] == pytest.approx(0.5)


def test_repeated_bars_counts_bars_that_sound_as_an_earlier_one():
    from pianoplay.music.novelty import repeated_bars

    bar = np.array([[60, 0, 4], [64, 4, 8], [67, 8, 16]])
    other = np.array([[62, 0, 8], [65, 8, 16]])
    loop = np.concatenate([bar + [0, 16 * i, 16 * i] for i in range(4)])
    assert repeated_bars(loop + [0, 3, 3]) == 1.0  # bars 2-4 are bar 1, from the first onset
    varied = np.concatenate([bar, other + [0, 16, 16], bar + [0, 32, 32],
                             (other + [2, 48, 48])])
    assert repeated_bars(varied) == pytest.approx(1 / 3)
    held = np.array([[60, 0, 32], [62, 32, 48]])  # a held note is not its onset again
    assert repeated_bars(held) == 0.0
    assert repeated_bars(np.zeros((0, 3))) == 0.0
    assert repeated_bars(loop, bars=2) == 1.0
