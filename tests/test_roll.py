"""Score <-> roll: quantization, onsets, round trips on real files, the benchmark match."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

from pianoplay.data.benchmark import load_benchmark
from pianoplay.music.midi import load_midi
from pianoplay.music.roll import load_roll, roll_to_midi, roll_to_notes, score_to_roll


def _reload(pm, **kwargs):
    buffer = io.BytesIO()
    pm.write(buffer)
    return load_roll(buffer.getvalue(), **kwargs)


def test_all_nottingham_test_files_round_trip(nottingham_test_files):
    opts = dict(steps_per_quarter=4, onsets=True, normalize_key=False)
    for path in nottingham_test_files:
        roll = load_roll(path, **opts).roll
        again = _reload(roll_to_midi(roll, steps_per_quarter=4), **opts).roll
        assert roll.shape == again.shape, path.name
        assert np.array_equal(roll, again), path.name


def test_onsets_keep_repeated_notes(midi_file):
    path = midi_file([(60, 0, 480), (60, 480, 960)])
    plain = load_roll(path, steps_per_quarter=2, normalize_key=False).roll
    both = load_roll(path, steps_per_quarter=2, normalize_key=False, onsets=True).roll
    assert plain.shape == (4, 88) and both.shape == (4, 88, 2)
    assert plain[:, 60 - 21].tolist() == [1, 1, 1, 1]
    assert both[:, 60 - 21, 1].tolist() == [1, 0, 1, 0]
    assert len(roll_to_midi(plain).instruments[0].notes) == 1  # held key: one note
    assert len(roll_to_midi(both).instruments[0].notes) == 2  # new onset: new note


def test_six_eight_round_trip_and_bars(midi_file):
    notes = [(67, 0, 240), (69, 240, 480), (71, 480, 720), (72, 720, 1440),
             (74, 1440, 2160), (76, 2160, 2880)]  # two bars of 6/8
    path = midi_file(notes, time_signature=(6, 8))
    loaded = load_roll(path, steps_per_quarter=4, normalize_key=False, onsets=True)
    assert loaded.steps_per_bar == 12 and loaded.bar_starts == [0, 12]
    pm = roll_to_midi(loaded.roll, steps_per_quarter=4, time_signature=(6, 8))
    got = [(n.pitch, round(n.start * 960), round(n.end * 960)) for n in pm.instruments[0].notes]
    assert got == notes  # 120 bpm, 480 ticks per quarter: 960 ticks per second
    assert (pm.time_signature_changes[0].numerator, pm.time_signature_changes[0].denominator) \
        == (6, 8)
    again = _reload(pm, steps_per_quarter=4, normalize_key=False, onsets=True)
    assert np.array_equal(again.roll, loaded.roll) and again.time_signature == (6, 8)


def test_nine_eight_bars(midi_file):
    path = midi_file([(60, 0, 480 * 9)], time_signature=(9, 8))
    loaded = load_roll(path, steps_per_quarter=2, normalize_key=False)
    assert loaded.steps_per_bar == 9 and loaded.bar_starts == [0, 9]


def test_triplets_snap_to_nearest_step(midi_file):
    # Eighth-note triplets (160 ticks) on a sixteenth grid (120 ticks).
    path = midi_file([(60, 0, 160), (62, 160, 320), (64, 320, 480)])
    notes = roll_to_notes(load_roll(path, steps_per_quarter=4, normalize_key=False,
                                    onsets=True).roll)
    assert [tuple(n) for n in notes] == [(60 - 21, 0, 1), (62 - 21, 1, 3), (64 - 21, 3, 4)]
    # Tick 160 = 1.33 steps -> 1; 320 = 2.67 -> 3: each note on its nearest step.


def test_short_note_keeps_one_step(midi_file):
    path = midi_file([(60, 0, 30), (62, 480, 960)])  # a 1/64 note
    roll = load_roll(path, steps_per_quarter=2, normalize_key=False).roll
    assert roll[0, 60 - 21] == 1 and roll[1:, 60 - 21].sum() == 0
    dropped = score_to_roll(load_midi(path), 2, drop_short=True)
    assert dropped[:, 60 - 21].sum() == 0


def test_notes_outside_piano_warn(midi_file):
    path = midi_file([(10, 0, 480), (60, 0, 480), (120, 0, 480)])
    with pytest.warns(UserWarning, match="2 notes outside"):
        roll = load_roll(path, normalize_key=False).roll
    assert roll.sum() == 2 and roll[:, 60 - 21].all()


def test_roll_to_midi_options_and_transpose():
    roll = np.zeros((8, 88), dtype=np.uint8)
    roll[0:4, 60 - 21] = 1
    pm = roll_to_midi(roll, steps_per_quarter=2, tempo=90.0, program=40, velocity=100,
                      time_signature=(3, 4), transpose=-2)
    [inst] = pm.instruments
    [note] = inst.notes
    assert (inst.program, note.pitch, note.velocity) == (40, 58, 100)
    assert pm.get_tempo_changes()[1][0] == pytest.approx(90.0)
    assert note.end == pytest.approx(4 * 60 / (90 * 2))


def test_key_normalisation_is_undone_on_output(midi_file):
    path = midi_file([(62, 0, 480), (66, 480, 960), (69, 960, 1440)], key="D")
    loaded = load_roll(path, steps_per_quarter=2)
    assert loaded.transpose == -2 and str(loaded.key) == "D major"
    pm = roll_to_midi(loaded.roll, transpose=-loaded.transpose)
    assert [n.pitch for n in pm.instruments[0].notes] == [62, 66, 69]


def test_bad_roll_shape_is_midi_error():
    from pianoplay.errors import MidiError

    with pytest.raises(MidiError, match="shape"):
        roll_to_midi(np.zeros((4, 12)))


def test_benchmark_representation_matches_the_mat(data_dir, nottingham_test_files):
    """Nottingham MIDI at 2 steps per quarter vs. the benchmark .mat test split.

    With ``match_benchmark`` 143 of the 170 .mat pieces are reproduced exactly
    (the rest are transposed to a different tonic in the .mat).
    """
    mat = load_benchmark(data_dir / "benchmark" / "Nottingham.mat", "test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = {_fingerprint(load_roll(p, match_benchmark=True).roll)
                for p in nottingham_test_files}
    identical = sum(_fingerprint(m) in ours for m in mat)
    assert identical >= 140


def _fingerprint(roll: np.ndarray) -> bytes:
    return str(roll.shape).encode() + np.packbits(roll).tobytes()
