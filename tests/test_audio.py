"""Real FluidSynth rendering: duration, loudness, pitch, errors."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from pianoplay.audio import TAIL_SECONDS, find_soundfont, render, set_tempo, write_wav
from pianoplay.errors import SoundfontError
from pianoplay.paths import data_dir

SR = 44100


def one_note(pitch: int = 69, seconds: float = 1.0, program: int = 0) -> pretty_midi.PrettyMIDI:
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(program)
    inst.notes.append(pretty_midi.Note(100, pitch, 0.0, seconds))
    pm.instruments.append(inst)
    return pm


def test_real_tune_renders_non_silent_with_right_duration():
    path = sorted((data_dir() / "nottingham" / "test").glob("*.mid"))[3]
    pm = pretty_midi.PrettyMIDI(str(path))
    audio = render(pm, SR)
    assert audio.dtype == np.int16 and audio.ndim == 2 and audio.shape[1] == 2
    assert abs(len(audio) / SR - (pm.get_end_time() + TAIL_SECONDS)) < 0.5
    rms = np.sqrt(np.mean(audio.astype(np.float64) ** 2))
    assert rms > 300, f"render is (nearly) silent: rms={rms:.1f}"
    # sound all along the tune, not just at the start
    seconds = audio[: int(pm.get_end_time()) * SR, 0].reshape(-1, SR).astype(float)
    assert (np.abs(seconds).max(1) > 100).mean() > 0.9


def test_a4_has_spectral_peak_near_440_hz():
    audio = render(one_note(69), SR)[:SR, 0].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    peak = np.fft.rfftfreq(len(audio), 1 / SR)[np.argmax(spectrum)]
    assert abs(peak - 440.0) < 5.0


def test_dry_render_has_the_same_pitch_and_length():
    wet = render(one_note(69), SR)
    dry = render(one_note(69), SR, effects=False)
    assert dry.shape == wet.shape
    x = dry[:SR, 0].astype(np.float64)
    peak = np.fft.rfftfreq(len(x), 1 / SR)[np.argmax(np.abs(np.fft.rfft(x * np.hanning(len(x)))))]
    assert abs(peak - 440.0) < 5.0
    # without reverb the release dies out sooner
    tail = slice(int(1.6 * SR), None)
    assert np.abs(dry[tail].astype(float)).mean() < np.abs(wet[tail].astype(float)).mean()


def test_program_override_changes_the_sound():
    piano = render(one_note(60), SR, program=0).astype(float)
    organ = render(one_note(60), SR, program=19).astype(float)
    assert np.abs(piano - organ).mean() > 50


def test_silence_renders_to_the_tail_only():
    pm = pretty_midi.PrettyMIDI()
    pm.instruments.append(pretty_midi.Instrument(0))
    audio = render(pm, SR)
    assert len(audio) == int(TAIL_SECONDS * SR)
    assert np.abs(audio).max() <= 2  # only FluidSynth's dither


def test_wav_round_trip(tmp_path):
    import scipy.io.wavfile

    audio = render(one_note(), SR)
    path = write_wav(tmp_path / "a.wav", audio, SR)
    sr, back = scipy.io.wavfile.read(path)
    assert sr == SR and np.array_equal(back, audio)


def test_set_tempo_scales_duration():
    pm = one_note(seconds=1.0)  # default tempo 120
    set_tempo(pm, 60.0)
    assert pm.get_end_time() == pytest.approx(2.0, abs=1e-3)
    with pytest.raises(ValueError):
        set_tempo(pm, 5000.0)


def test_missing_soundfont_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(SoundfontError, match="does not exist"):
        find_soundfont(tmp_path / "nope.sf2")
    monkeypatch.setenv("PIANOPLAY_SOUNDFONT", str(tmp_path / "gone.sf2"))
    with pytest.raises(SoundfontError, match="PIANOPLAY_SOUNDFONT"):
        render(one_note())


def test_no_soundfont_anywhere_names_what_to_install(monkeypatch, tmp_path):
    import pianoplay.audio as audio

    monkeypatch.delenv("PIANOPLAY_SOUNDFONT", raising=False)
    monkeypatch.setattr(audio, "SOUNDFONTS_DIR", tmp_path)
    monkeypatch.setattr(audio, "SYSTEM_SOUNDFONTS", ())
    with pytest.raises(SoundfontError, match="apt-get install"):
        find_soundfont()


def test_bad_soundfont_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"not a soundfont")
    with pytest.raises(SoundfontError, match="could not load"):
        render(one_note(), SR, soundfont=bad)
