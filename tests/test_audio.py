"""Real FluidSynth rendering: duration, loudness, pitch, errors."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from pianoplay.audio.synth import TAIL_SECONDS, find_soundfont, render, set_tempo, write_wav
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
    import pianoplay.audio.synth as audio

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


def test_chunk_plan_starts_early_enough_for_every_sounding_note():
    from pianoplay.audio.synth import plan_chunks

    notes = [(0, 100), (150, 900), (950, 1000)]
    plan = plan_chunks(notes, 1200, 3, ring=50)
    # later chunks keep less: they also play a lead-in of about `ring`
    assert [(keep, stop) for _, keep, stop in plan] == [(0, 433), (433, 817), (817, 1200)]
    assert plan[0][0] == 0
    # the note 150-900 sounds at 400 and at 800; starts go down to FluidSynth's 64-grid
    assert plan[1][0] == plan[2][0] == 128
    # nothing sounding near the split: start just `ring` early
    assert plan_chunks([(0, 10), (700, 710)], 1000, 2, ring=50)[1][0] == 448


def _envelope(audio: np.ndarray, window: int = 1024) -> np.ndarray:
    x = audio.astype(np.float64).reshape(len(audio), -1)[:, 0]
    m = len(x) // window * window
    return np.sqrt((x[:m].reshape(-1, window) ** 2).mean(axis=1))


@pytest.mark.parametrize("effects", [False, True])
def test_chunked_render_sounds_like_one_synth(effects):
    # FluidSynth starts events on 64-sample blocks, so two renders of one file
    # differ sample by sample even on one synth; compare loudness envelopes.
    path = sorted((data_dir() / "nottingham" / "test").glob("*.mid"))[5]
    pm = pretty_midi.PrettyMIDI(str(path))
    one = render(pm, 22050, effects=effects, workers=1)
    chunked = render(pm, 22050, effects=effects, workers=3)
    assert chunked.shape == one.shape
    a, b = _envelope(one), _envelope(chunked)
    assert np.abs(a - b).mean() / a.mean() < 0.01
    assert np.abs(a - b).max() / a.max() < 0.1


def test_mono_render_is_one_channel_of_the_same_length():
    stereo = render(one_note(), SR)
    mono = render(one_note(), SR, mono=True)
    assert mono.ndim == 1 and len(mono) == len(stereo)
    assert np.abs(mono).max() > 10_000


def test_a_cut_render_leaves_nothing_behind_for_the_next_one():
    # A chunk stops before the piece ends; its later notes must not sound at the
    # start of whatever that synth renders next.
    from pianoplay.audio.synth import _events, _pool

    files = sorted((data_dir() / "nottingham" / "test").glob("*.mid"))
    tune = pretty_midi.PrettyMIDI(str(files[5]))
    late = one_note(60, seconds=1.5)
    late.instruments[0].notes[0].start = 1.0
    with _pool(find_soundfont(), 22050, False).synth() as synth:
        synth.render(_events(tune, 22050, None), np.empty((22050, 2), np.float32), 0)
        out = np.empty((2 * 22050, 2), np.float32)
        synth.render(_events(late, 22050, None), out, 0)
    assert np.abs(out[: int(0.95 * 22050)]).max() == 0.0
    assert np.abs(out[22050:]).max() > 0.01


def test_fluidsynth_warnings_stay_off_stderr_errors_name_the_cause(tmp_path):
    """Some soundfonts make FluidSynth log a dozen "Modulator ..." warnings per load;
    once a synth exists its warnings are dropped (checked in a fresh process, where
    the log function is still FluidSynth's default)."""
    import subprocess
    import sys

    script = (
        "import fluidsynth, pretty_midi\n"
        "from pianoplay.audio.synth import render\n"
        "pm = pretty_midi.PrettyMIDI(); inst = pretty_midi.Instrument(0)\n"
        "inst.notes.append(pretty_midi.Note(80, 60, 0.0, 0.1)); pm.instruments.append(inst)\n"
        "fluidsynth._fl.fluid_log(2, b'Modulator before')\n"
        "render(pm)\n"
        "for level in (2, 3, 4): fluidsynth._fl.fluid_log(level, b'Modulator after')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Modulator before" in result.stderr  # FluidSynth does log to stderr by default
    assert "Modulator after" not in result.stderr
    truncated = tmp_path / "short.sf2"
    truncated.write_bytes(b"RIFF\x10\x00\x00\x00sfbkLIST")
    with pytest.raises(SoundfontError, match="could not load.*size mismatch"):
        render(one_note(), SR, soundfont=truncated)


def test_render_accepts_a_path_and_keeps_the_pedal(tmp_path):
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    mid.tracks.append(
        mido.MidiTrack(
            [
                mido.Message("control_change", control=64, value=127, time=0),
                mido.Message("note_on", note=60, velocity=90, time=0),
                mido.Message("note_off", note=60, velocity=0, time=240),
                mido.Message("control_change", control=64, value=0, time=1680),
            ]
        )
    )
    path = tmp_path / "pedal.mid"
    mid.save(str(path))
    audio = render(path, SR)
    assert abs(len(audio) / SR - (2.0 + TAIL_SECONDS)) < 0.05  # the pedal lift ends it
    # the pedal holds the note after its note-off at 0.25 s
    assert np.abs(audio[int(1.0 * SR) : int(1.5 * SR)]).max() > 100
