"""Key detection and normalisation to C major / C minor."""

from __future__ import annotations

import io

import mido
import numpy as np
import pytest

from pianoplay.music.keys import (
    Key,
    estimate_key,
    pitch_class_histogram,
    relative_choice,
    score_key,
    shift_to_c,
)
from pianoplay.music.midi import load_midi
from pianoplay.music.roll import load_roll

MAJOR = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
MINOR = ["Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "G#m", "Am", "Bbm", "Bm"]


def _transposed(path, k: int, keep_key: bool) -> bytes:
    """The file's bytes with every pitched note moved by k semitones; key signatures
    moved with it, or removed."""
    mid = mido.MidiFile(str(path))
    for track in mid.tracks:
        kept = []
        carry = 0
        for msg in track:
            msg = msg.copy(time=msg.time + carry)
            carry = 0
            if msg.type == "key_signature":
                if not keep_key:
                    carry = msg.time  # drop the event, keep the timing of what follows
                    continue
                names = MINOR if msg.key.endswith("m") else MAJOR
                msg = msg.copy(key=names[(names.index(msg.key) + k) % 12])
            elif msg.type in ("note_on", "note_off") and msg.channel != 9:
                msg = msg.copy(note=msg.note + k)
            kept.append(msg)
        track[:] = kept
    buffer = io.BytesIO()
    mid.save(file=buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def tune(data_dir):
    path = data_dir / "nottingham" / "test" / "ashover_simple_chords_11.mid"  # D major jig
    assert str(score_key(load_midi(path))) == "D major"
    return path


@pytest.mark.parametrize("keep_key", [True, False])
def test_transposed_tune_normalises_to_the_same_roll(tune, keep_key):
    reference = load_roll(_transposed(tune, 0, keep_key))
    assert reference.key.estimated is not keep_key
    assert reference.key.tonic == 2  # D, both from the event and the estimate
    # Shifts are chosen in -6..+5, so normalised rolls agree (not just up to an
    # octave) while the shift -2 - k stays in -6..+5: k in -7..+4 for D.
    for k in (-7, -5, -3, -1, 1, 2, 4):
        moved = load_roll(_transposed(tune, k, keep_key))
        assert moved.key.tonic == (2 + k) % 12, k
        assert moved.transpose == reference.transpose - k, k
        assert np.array_equal(moved.roll, reference.roll), k


def test_shift_to_c_is_smallest_motion():
    assert [shift_to_c(t) for t in range(12)] == [0, -1, -2, -3, -4, -5, -6, 5, 4, 3, 2, 1]


def test_estimate_finds_scales():
    c_major = np.zeros(12)
    c_major[[0, 2, 4, 5, 7, 9, 11]] = 1
    c_major[[0, 4, 7]] += 2  # tonic triad weighted
    assert estimate_key(c_major) == Key(0, False, True)
    assert estimate_key(np.roll(c_major, 7)).name == "G major"
    a_minor = np.zeros(12)
    a_minor[[9, 11, 0, 2, 4, 5, 8]] = 1
    a_minor[[9, 0, 4]] += 2
    assert estimate_key(a_minor).name == "A minor"


def test_key_from_events_wins_over_estimate(midi_file):
    path = midi_file([(60, 0, 480), (64, 480, 960), (67, 960, 1440)], key="F")
    assert score_key(load_midi(path)) == Key(5, False, False)
    assert score_key(load_midi(path), "estimate").tonic == 0


def test_pitch_class_histogram_of_a_roll():
    roll = np.zeros((4, 88), dtype=np.uint8)
    roll[:, 60 - 21] = 1
    roll[:2, 67 - 21] = 1
    hist = pitch_class_histogram(roll)
    assert hist[0] == 4 and hist[7] == 2 and hist.sum() == 6


# Pieces whose title names the key; the files mark every signature major.
TITLED = [
    ("Chopin/chpn-p2.mid", "A minor"),  # Preludes Op. 28 No. 2 (signature: C major)
    ("Rachmaninoff/rac_op3_2.mid", "C# minor"),  # signature: E major
    ("Beethoven/mond_1.mid", "C# minor"),  # Moonlight, first movement
    ("Beethoven/waldstein_1.mid", "C major"),  # the estimate alone says A minor
    ("Mozart/mz_545_1.mid", "C major"),
]


@pytest.mark.parametrize("name, title_key", TITLED)
def test_minor_pieces_are_named_by_their_music(data_dir, name, title_key):
    score = load_midi(data_dir / "piano-midi-de" / "midis" / name)
    assert not any(k >= 12 for _, k in score.key_signatures)  # every signature marked major
    assert score_key(score).name == title_key
    assert not score_key(score).estimated


def test_nottingham_keys_kept_where_the_signature_is_plain(nottingham_test_files):
    changed = []
    for path in nottingham_test_files:
        score = load_midi(path)
        written, named = score_key(score, "signature"), score_key(score)
        if written.minor:
            assert named == written, path.name  # a signature marked minor is taken as written
        elif named != written:
            assert named.minor and named.tonic == (written.tonic - 3) % 12, path.name
            changed.append(path.name)
    assert len(changed) <= 5, changed  # 23 of the 1037 tunes in the whole set


def test_relative_choice_follows_the_ending():
    a_minor = np.zeros(12)
    a_minor[[9, 11, 0, 2, 4, 5, 8]] = 1
    a_minor[[9, 0, 4]] += 2
    assert relative_choice(0, a_minor, final_bass=9) == Key(9, True, False)
    assert relative_choice(0, a_minor, final_bass=0) == Key(0, False, False)
    c_major = np.roll(a_minor, 3)
    assert relative_choice(0, c_major, final_bass=7) == Key(0, False, False)
