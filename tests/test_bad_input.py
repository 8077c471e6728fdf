"""Every kind of bad MIDI input is a MidiError with a sentence, never a traceback."""

from __future__ import annotations

import struct

import pytest

from pianoplay.cli import main
from pianoplay.errors import MidiError
from pianoplay.music.midi import MidiLimits, load_midi
from pianoplay.music.roll import load_roll

# One track: note on C4, a quarter (96 ticks at 96 per quarter) later note off, end.
TRACK = bytes([0x00, 0x90, 0x3C, 0x40, 0x60, 0x80, 0x3C, 0x40, 0x00, 0xFF, 0x2F, 0x00])


def _midi_bytes(division: int, track: bytes = TRACK) -> bytes:
    header = b"MThd" + struct.pack(">IHHh", 6, 0, 1, division)
    return header + b"MTrk" + struct.pack(">I", len(track)) + track


def _raises(source, match: str, limits: MidiLimits | None = None) -> str:
    with pytest.raises(MidiError, match=match) as info:
        load_midi(source, limits)
    message = str(info.value)
    assert message.endswith(".") and "\n" not in message and "Traceback" not in message
    return message


def test_hand_made_header_is_valid():
    score = load_midi(_midi_bytes(96))
    assert [n.pitch for n in score.pitched_notes] == [60]


def test_corrupt_bytes():
    _raises(b"this is not a MIDI file at all", "not a readable MIDI file")
    _raises(bytes(range(256)) * 4, "not a readable MIDI file")


def test_truncated_file_keeps_its_complete_tracks(nottingham_test_files):
    data = nottingham_test_files[0].read_bytes()
    whole = load_midi(data)
    with pytest.warns(UserWarning, match="cut off"):
        half = load_midi(data[: len(data) // 2])
    assert any("cut off" in r for r in half.repairs)
    assert 0 < len(half.pitched_notes) < len(whole.pitched_notes)
    # what was kept is the start of the piece, unchanged
    kept = {(n.pitch, n.start_tick) for n in half.pitched_notes}
    assert kept <= {(n.pitch, n.start_tick) for n in whole.pitched_notes}
    _raises(data[:10], "not a readable MIDI file")  # no complete header: nothing to keep


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    _raises(empty, "empty")
    _raises(b"", "empty")


def test_file_without_notes():
    no_notes = bytes([0x00, 0xFF, 0x2F, 0x00])
    _raises(_midi_bytes(96, no_notes), "no notes")


def test_drums_only(tmp_path, midi_file):
    path = midi_file([(36, 0, 240), (38, 240, 480)], channel=9)
    _raises(path, "only drum notes")


@pytest.mark.parametrize("division", [0, -1])
def test_unusable_division_is_assumed(division):
    # 0 and -1 (SMPTE with 1 frame per second) in the header's division field
    with pytest.warns(UserWarning, match="time division"):
        score = load_midi(_midi_bytes(division))
    assert [n.pitch for n in score.pitched_notes] == [60]
    assert score.ticks_per_quarter == 480 and "time division" in score.repairs[0]


def test_smpte_division_is_read_in_seconds():
    # 0xE728: SMPTE, 25 frames/s, 40 ticks/frame: 1000 ticks per second
    smpte = struct.unpack(">h", b"\xe7\x28")[0]
    with pytest.warns(UserWarning, match="SMPTE"):
        score = load_midi(_midi_bytes(smpte))
    [note] = score.pitched_notes
    assert note.end == pytest.approx(96 / 1000)


@pytest.mark.parametrize("bpm", [5.0, 2000.0])
def test_absurd_tempo(midi_file, bpm):
    _raises(midi_file([(60, 0, 480)], bpm=bpm), "tempo")


def test_zero_tempo_is_ignored():
    # set_tempo with 0 microseconds per beat, crafted by hand.
    track = bytes([0x00, 0xFF, 0x51, 0x03, 0x00, 0x00, 0x00]) + TRACK
    with pytest.warns(UserWarning, match="tempo"):
        score = load_midi(_midi_bytes(96, track))
    assert score.tempo == 120.0 and "tempo" in score.repairs[0]


def test_too_many_notes_keeps_the_first(midi_file):
    path = midi_file([(60 + i % 12, i * 120, i * 120 + 100) for i in range(50)])
    assert len(load_midi(path, MidiLimits(max_notes=50)).pitched_notes) == 50
    with pytest.warns(UserWarning, match="50 notes; the limit is 49"):
        score = load_midi(path, MidiLimits(max_notes=49))
    assert [n.start_tick for n in score.pitched_notes] == [i * 120 for i in range(49)]
    assert "first" in score.repairs[0]


def test_too_long_keeps_the_first_minutes(midi_file):
    path = midi_file([(60, 0, 480 * 2 * 60 * 31)])  # 31 minutes at 120 bpm
    with pytest.warns(UserWarning, match="31.0 minutes; the limit is 30"):
        score = load_midi(path)
    [note] = score.pitched_notes
    assert note.end == pytest.approx(30 * 60) and score.duration == pytest.approx(30 * 60)
    assert load_midi(path, MidiLimits(max_seconds=3600)).duration == pytest.approx(31 * 60)
    # nothing starts within the limit: refused
    late = midi_file([(60, 480 * 2 * 60 * 31, 480 * 2 * 60 * 32)])
    _raises(late, "32.0 minutes; the limit is 30, and no note starts before that")


def test_too_big(midi_file):
    path = midi_file([(60, i * 10, i * 10 + 5) for i in range(200)])
    _raises(path, "MB", MidiLimits(max_bytes=1000))
    _raises(path.read_bytes(), "MB", MidiLimits(max_bytes=1000))


def test_missing_file_and_folder(tmp_path):
    _raises(tmp_path / "nope.mid", "does not exist")
    _raises(tmp_path, "folder")


def test_notes_only_outside_the_piano(midi_file):
    with pytest.warns(UserWarning), pytest.raises(MidiError, match="piano's range"):
        load_roll(midi_file([(5, 0, 480), (120, 0, 480)]))


def test_cli_prints_one_line_and_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"garbage")
    assert main(["inspect", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pianoplay inspect: error:") and "\n" not in err
