"""Damaged MIDI files: never a traceback or a hang; notes are salvaged where they can be.

The fuzz cases come from ``bench/fuzz.py`` (which runs more of them and prints counts):
real files with flipped bits, cut off, with inserted, deleted or spliced bytes, absurd
header fields, huge delta times, thousands of tracks, zero-length notes, broken meta
events and data bytes above 127.
"""

from __future__ import annotations

import importlib.util
import struct
import sys
from pathlib import Path

import pytest

from pianoplay.errors import MidiError
from pianoplay.music.midi import MidiLimits, load_midi
from pianoplay.music.roll import load_roll

REPO = Path(__file__).resolve().parents[1]


def _load_fuzz_bench():
    """bench/fuzz.py (a script, not a package) as a module: the importlib recipe."""
    spec = importlib.util.spec_from_file_location("pianoplay_fuzz_bench",
                                                  REPO / "bench" / "fuzz.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


fuzz = _load_fuzz_bench()

# One track: C4 for a quarter at 96 ticks per quarter, then end of track.
NOTE = bytes([0x00, 0x90, 0x3C, 0x40, 0x60, 0x80, 0x3C, 0x40])
EOT = bytes([0x00, 0xFF, 0x2F, 0x00])


def smf(*tracks: bytes, n_tracks: int | None = None, division: int = 96,
        header_length: int = 6) -> bytes:
    n = len(tracks) if n_tracks is None else n_tracks
    out = b"MThd" + struct.pack(">IHHh", header_length, 1, n, division)
    return out + b"".join(b"MTrk" + struct.pack(">I", len(t)) + t for t in tracks)


def loaded(data: bytes, repair: str):
    """load_midi of damaged bytes: it warns, lists a repair containing ``repair``, keeps notes."""
    with pytest.warns(UserWarning):
        score = load_midi(data)
    assert any(repair in r for r in score.repairs), score.repairs
    assert score.pitched_notes
    return score


def test_data_bytes_above_127_are_clipped():
    score = loaded(smf(bytes([0x00, 0x90, 0x3C, 0xC0, 0x60, 0x80, 0x3C, 0x40]) + EOT),
                   "clipped to 127")
    assert score.pitched_notes[0].velocity == 127


def test_wrong_track_length_is_read_to_the_end_of_track():
    track = NOTE + EOT
    data = smf(track, track)
    short = bytearray(data)
    struct.pack_into(">I", short, 18, 5)  # first track claims 5 bytes
    score = loaded(bytes(short), "gives its length as 5 bytes")
    assert len(score.pitched_notes) == 2
    long = bytearray(data)
    struct.pack_into(">I", long, 18, 10_000)  # ... or far more than the file holds
    assert len(loaded(bytes(long), "end-of-track").pitched_notes) == 2


def test_garbage_between_tracks_and_wrong_track_count():
    track = NOTE + EOT
    second = b"MTrk" + struct.pack(">I", len(track)) + track
    data = smf(track, n_tracks=2) + b"\x00garbage!" + second
    assert len(loaded(data, "belong to no track").pitched_notes) == 2
    assert loaded(smf(track, n_tracks=65535), "announces 65535 tracks; the file holds 1")


def test_damaged_header_tag_and_length():
    data = smf(NOTE + EOT)
    assert loaded(b"MTHd" + data[4:], "MThd tag is damaged")
    bad_length = bytearray(data)
    struct.pack_into(">I", bad_length, 4, 0xFFFFFFFF)
    assert loaded(bytes(bad_length), "length as 4294967295 bytes")


def test_damaged_event_keeps_what_came_before():
    # an undefined status byte 0xF4 after the first note
    score = loaded(smf(NOTE + bytes([0x00, 0xF4]) + NOTE + EOT), "undefined status byte 0xf4")
    assert len(score.pitched_notes) == 1
    with pytest.raises(MidiError, match="no notes .*damaged"):
        load_midi(smf(bytes([0x00, 0xF4]) + NOTE + EOT))


def test_absurd_time_signature_and_key_are_ignored_not_hung_on():
    meta = bytes([0x00, 0xFF, 0x58, 0x04, 0x01, 0xC8, 0x18, 0x08,  # 1/2**200
                  0x00, 0xFF, 0x59, 0x02, 0x64, 0x00])  # 100 sharps
    score = loaded(smf(meta + NOTE + EOT), "invalid time signature")
    assert score.time_signatures == [] and score.key_signatures == []
    assert any("key signature" in r for r in score.repairs)
    assert load_roll(score).roll.sum() > 0


def test_thousands_of_tracks_and_zero_length_notes(tmp_path):
    zero = bytes([0x00, 0x90, 0x3C, 0x40, 0x00, 0x80, 0x3C, 0x40])
    data = smf(*([zero + NOTE + EOT] * 3000))
    score = load_midi(data)
    assert len(score.tracks) == 3000 and not score.repairs
    assert load_roll(score).roll.any()
    path = tmp_path / "many.mid"
    path.write_bytes(data)
    code, err = fuzz._cli(["render", str(path), str(tmp_path / "many.wav"), "--sample-rate",
                           "8000"])
    assert code == 0, err


def test_stacked_copies_over_the_note_limit_keep_one_copy():
    chord = bytes([0x00, 0x90, 0x3C, 0x40, 0x00, 0x90, 0x40, 0x40, 0x00, 0x90, 0x43, 0x40,
                   0x60, 0x80, 0x3C, 0x40, 0x00, 0x80, 0x40, 0x40, 0x00, 0x80, 0x43, 0x40])
    data = smf(*([chord + NOTE + EOT] * 2000))  # 8000 notes, 4 of them distinct
    with pytest.warns(UserWarning, match="double another"):
        score = load_midi(data, MidiLimits(max_notes=1000))
    assert len(score.pitched_notes) == 4


@pytest.mark.slow
def test_fuzzed_real_files_never_traceback_or_hang(tmp_path):
    """60 fuzzed real files through load_midi, load_roll, inspect and (every 4th) render."""
    counts: dict[str, int] = {}
    failures = []
    for i, (mutation, source, data) in enumerate(fuzz.cases(60, seed=13)):
        outcome = fuzz.run_case(mutation, source, data, tmp_path, render=i % 4 == 0)
        for target, result in outcome.results.items():
            if result in ("traceback", "hang"):
                failures.append(f"{mutation} of {source}: {target} {result}: "
                                f"{outcome.details[target]}")
        counts[outcome.results["load_midi"]] = counts.get(outcome.results["load_midi"], 0) + 1
    assert not failures, "\n".join(failures)
    # most damaged files still give their notes
    assert counts.get("salvaged", 0) + counts.get("ok", 0) >= 45, counts
