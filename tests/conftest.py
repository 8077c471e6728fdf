"""Shared fixtures: the real data folder and a writer of small MIDI files."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest

from pianoplay import paths


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``../shared/data`` (or ``$PIANOPLAY_DATA``); always present in CI."""
    return paths.data_dir()


@pytest.fixture(scope="session")
def nottingham_test_files(data_dir) -> list[Path]:
    files = sorted((data_dir / "nottingham" / "test").glob("*.mid"))
    assert len(files) == 170
    return files


def write_midi(path: Path, notes, tpq: int = 480, bpm: float = 120.0,
               time_signature: tuple[int, int] | None = (4, 4), key: str | None = None,
               program: int = 0, channel: int = 0, name: str = "piano") -> Path:
    """Write a one-track type-1 MIDI file with exact tick times.

    ``notes`` are ``(pitch, start_tick, end_tick)`` or ``(pitch, start, end, velocity)``;
    ``key`` is a mido key name such as ``"D"`` or ``"Em"`` (None: no key signature).
    """
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    if time_signature:
        meta.append(mido.MetaMessage("time_signature", numerator=time_signature[0],
                                     denominator=time_signature[1], time=0))
    if key:
        meta.append(mido.MetaMessage("key_signature", key=key, time=0))
    events = []
    for note in notes:
        pitch, start, end = note[:3]
        velocity = note[3] if len(note) > 3 else 80
        events.append((end, 0, mido.Message("note_off", note=pitch, velocity=0,
                                            channel=channel)))
        events.append((start, 1, mido.Message("note_on", note=pitch, velocity=velocity,
                                               channel=channel)))
    events.sort(key=lambda e: (e[0], e[1]))  # offs before ons at one tick
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0),
                            mido.Message("program_change", program=program, channel=channel,
                                         time=0)])
    now = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    mid = mido.MidiFile(type=1, ticks_per_beat=tpq)
    mid.tracks.extend([meta, track])
    mid.save(str(path))
    return Path(path)


@pytest.fixture
def midi_file(tmp_path):
    """``midi_file(notes, name="x.mid", **kwargs)`` writes a MIDI file in ``tmp_path``."""
    counter = iter(range(10_000))

    def make(notes, name: str | None = None, **kwargs) -> Path:
        return write_midi(tmp_path / (name or f"made_{next(counter)}.mid"), notes, **kwargs)

    return make


@pytest.fixture(scope="session")
def app():
    """One launched app (subprocess on a free port, shipped checkpoints) shared by the
    gradio_client and browser tests."""
    from pianoplay.ui.server import start_app

    server = start_app()
    yield server
    server.stop()
