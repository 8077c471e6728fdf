"""The fast MIDI writer writes what PrettyMIDI.write writes."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from pianoplay.music.midi_write import _ticks, write_midi
from pianoplay.paths import data_dir


def _content(pm: pretty_midi.PrettyMIDI):
    return (
        pm.resolution,
        [(round(t, 6), round(q, 6)) for t, q in zip(*pm.get_tempo_changes())],
        [(round(ts.time, 6), ts.numerator, ts.denominator) for ts in pm.time_signature_changes],
        [(round(ks.time, 6), ks.key_number) for ks in pm.key_signature_changes],
        [
            (
                inst.program,
                inst.is_drum,
                inst.name,
                # the order of notes that start together is not content
                sorted(
                    (round(n.start, 6), round(n.end, 6), n.pitch, n.velocity) for n in inst.notes
                ),
                [(round(c.time, 6), c.number, c.value) for c in inst.control_changes],
                [(round(b.time, 6), b.pitch) for b in inst.pitch_bends],
            )
            for inst in pm.instruments
        ],
    )


def _both(pm, tmp_path):
    pm.write(str(tmp_path / "slow.mid"))
    write_midi(pm, tmp_path / "fast.mid")
    return (
        pretty_midi.PrettyMIDI(str(tmp_path / "slow.mid")),
        pretty_midi.PrettyMIDI(str(tmp_path / "fast.mid")),
    )


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_same_content_as_pretty_midi_on_real_files(tmp_path):
    files = sorted((data_dir() / "nottingham" / "test").glob("*.mid"))[::10]
    assert len(files) >= 15
    for path in files:
        slow, fast = _both(pretty_midi.PrettyMIDI(str(path)), tmp_path)
        assert _content(fast) == _content(slow), path.name


def test_tempo_changes_keys_bends_controllers_and_drums(tmp_path):
    pm = pretty_midi.PrettyMIDI(initial_tempo=90)
    pm._tick_scales.append((960, 60.0 / (150 * pm.resolution)))  # 90 -> 150 bpm at beat 4
    pm._update_tick_to_time(2000)
    pm.time_signature_changes += [
        pretty_midi.TimeSignature(3, 4, 0.0),
        pretty_midi.TimeSignature(6, 8, 3.0),
    ]
    pm.key_signature_changes += [
        pretty_midi.KeySignature(k, i * 0.5) for i, k in enumerate(range(24))
    ]
    piano = pretty_midi.Instrument(0, name="piano")
    piano.notes += [pretty_midi.Note(80, 60 + i % 12, 0.3 * i, 0.3 * i + 0.5) for i in range(30)]
    piano.notes.append(pretty_midi.Note(100, 60, 0.5, 0.8))  # same pitch restarted at an end
    piano.control_changes.append(pretty_midi.ControlChange(64, 127, 1.0))
    piano.pitch_bends += [pretty_midi.PitchBend(-8192, 2.0), pretty_midi.PitchBend(8191, 2.5)]
    drums = pretty_midi.Instrument(0, is_drum=True)
    drums.notes.append(pretty_midi.Note(90, 36, 0.0, 0.1))
    pm.instruments += [piano, drums, pretty_midi.Instrument(40)]
    slow, fast = _both(pm, tmp_path)
    assert _content(fast) == _content(slow)


def test_ticks_match_pretty_midi_time_to_tick():
    pm = pretty_midi.PrettyMIDI(initial_tempo=100)
    pm._tick_scales.append((1000, 60.0 / (70 * pm.resolution)))
    pm._update_tick_to_time(5000)
    times = np.random.default_rng(0).uniform(0, 8, 500)
    assert _ticks(pm, times).tolist() == [pm.time_to_tick(t) for t in times]
