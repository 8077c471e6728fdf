"""Bar-aligned window extraction."""

from __future__ import annotations

import numpy as np

from pianoplay.music.midi import load_midi
from pianoplay.music.roll import bar_starts, load_roll
from pianoplay.music.windows import count_notes, extract_windows


def _bars(n_bars: int, silent: tuple[int, ...] = ()) -> list[tuple[int, int, int]]:
    """One whole note per 4/4 bar (480 ticks per quarter), some bars left silent."""
    return [(60 + b % 12, b * 1920, (b + 1) * 1920) for b in range(n_bars) if b not in silent]


def test_window_count_on_known_bars(midi_file):
    loaded = load_roll(midi_file(_bars(10)), steps_per_quarter=2, normalize_key=False)
    assert loaded.steps_per_bar == 8 and len(loaded.bar_starts) == 10
    windows = extract_windows(loaded.roll, 4 * 8, loaded.bar_starts)
    assert len(windows) == 10 - 4 + 1  # slide by one bar, every 4-bar window that fits
    assert [w.start_step for w in windows] == [0, 8, 16, 24, 32, 40, 48]
    assert all(w.n_bars == 4 and w.roll.shape == (32, 88) for w in windows)
    assert windows[2].start_bar == 2
    assert np.array_equal(windows[2].roll, loaded.roll[16:48])


def test_silent_windows_are_skipped(midi_file):
    loaded = load_roll(midi_file(_bars(8, silent=(2, 3, 4))), normalize_key=False)
    one_bar = extract_windows(loaded.roll, 8, loaded.bar_starts)
    assert [w.start_bar for w in one_bar] == [0, 1, 5, 6, 7]
    two_bars = extract_windows(loaded.roll, 16, loaded.bar_starts, min_notes=2)
    assert [w.start_bar for w in two_bars] == [0, 5, 6]


def test_too_short_gives_no_window(midi_file):
    loaded = load_roll(midi_file(_bars(3)), normalize_key=False)
    assert extract_windows(loaded.roll, 4 * 8, loaded.bar_starts) == []


def test_time_signature_change_restarts_bars(tmp_path):
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    mid.tracks.append(mido.MidiTrack([
        mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
        mido.Message("note_on", note=60, velocity=80, time=0),
        mido.MetaMessage("time_signature", numerator=3, denominator=4, time=1920),
        mido.Message("note_off", note=60, velocity=0, time=1440 * 2),
    ]))
    mid.save(str(tmp_path / "ts.mid"))
    starts, steps_per_bar = bar_starts(load_midi(tmp_path / "ts.mid"), 2, 20)
    assert steps_per_bar == 8 and starts == [0, 8, 14]


def test_windows_with_onsets_and_note_count():
    roll = np.zeros((16, 88, 2), dtype=np.uint8)
    roll[0:8, 40, 0] = 1
    roll[[0, 4], 40, 1] = 1  # the held key is struck twice
    assert count_notes(roll) == 2 and count_notes(roll[..., 0]) == 1
    assert len(extract_windows(roll, 8, [0, 8])) == 1
