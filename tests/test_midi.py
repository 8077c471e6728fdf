"""MIDI file -> Score: notes with ticks and seconds, tracks, meta events."""

from __future__ import annotations

import mido
import pytest

from pianoplay.music.midi import load_midi


def test_notes_have_ticks_seconds_velocity_program(midi_file):
    path = midi_file([(60, 0, 480, 90), (64, 480, 1440, 70)], program=5, bpm=60)
    score = load_midi(path)
    assert score.ticks_per_quarter == 480
    [track] = score.tracks
    assert (track.program, track.is_drum, track.name) == (5, False, "piano")
    a, b = track.notes
    assert (a.pitch, a.start_tick, a.end_tick, a.velocity) == (60, 0, 480, 90)
    assert (b.start, b.end) == pytest.approx((1.0, 3.0))  # 60 bpm: one second per quarter
    assert b.program == 5 and not b.is_drum
    assert score.tempo == pytest.approx(60.0)
    assert score.duration == pytest.approx(3.0)


def test_bytes_source_and_meta_events(midi_file):
    path = midi_file([(62, 0, 240)], time_signature=(6, 8), key="Bm")
    score = load_midi(path.read_bytes())
    assert score.time_signature == (6, 8)
    assert score.key_signatures == [(0, 11 + 12)]  # pretty_midi numbering: B minor = 23


def test_tempo_change_moves_seconds(tmp_path):
    mid = mido.MidiFile(ticks_per_beat=100)
    track = mido.MidiTrack([
        mido.MetaMessage("set_tempo", tempo=500_000, time=0),  # 120 bpm
        mido.Message("note_on", note=60, velocity=80, time=0),
        mido.MetaMessage("set_tempo", tempo=1_000_000, time=200),  # 60 bpm after 1 s
        mido.Message("note_off", note=60, velocity=0, time=100),
    ])
    mid.tracks.append(track)
    mid.save(str(tmp_path / "t.mid"))
    note = load_midi(tmp_path / "t.mid").tracks[0].notes[0]
    assert (note.start_tick, note.end_tick) == (0, 300)
    assert note.end == pytest.approx(2.0)


def test_drum_track_flagged_and_ignored(tmp_path):
    mid = mido.MidiFile(ticks_per_beat=480)
    mid.tracks.append(mido.MidiTrack([
        mido.Message("note_on", note=60, velocity=80, channel=0, time=0),
        mido.Message("note_on", note=36, velocity=80, channel=9, time=0),
        mido.Message("note_off", note=60, velocity=0, channel=0, time=480),
        mido.Message("note_off", note=36, velocity=0, channel=9, time=0),
    ]))
    mid.save(str(tmp_path / "d.mid"))
    score = load_midi(tmp_path / "d.mid")
    assert sorted(t.is_drum for t in score.tracks) == [False, True]
    assert [n.pitch for n in score.pitched_notes] == [60]


def test_real_nottingham_file(nottingham_test_files):
    score = load_midi(nottingham_test_files[0])
    assert score.ticks_per_quarter == 480
    assert len(score.tracks) >= 2
    assert all(36 <= n.pitch <= 88 for n in score.pitched_notes)
