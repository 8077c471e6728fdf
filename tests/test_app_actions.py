"""The app's library side without a server: argument checks, audio cutting,
output folders, the latent map, and one action on the shipped VAE."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from PIL import Image

from pianoplay.errors import PianoplayError
from pianoplay.ui.actions import check_range
from pianoplay.ui.outputs import Outputs, cut_wav


def test_check_range_names_the_control():
    assert check_range("Steps", "8", 2, 16, integer=True) == 8
    assert check_range("Tempo (bpm)", 90.5, 40, 240) == 90.5
    with pytest.raises(PianoplayError, match=r"Tempo \(bpm\) must be between 40 and 240, not 500"):
        check_range("Tempo (bpm)", 500, 40, 240)
    with pytest.raises(PianoplayError, match="Steps must be a whole number"):
        check_range("Steps", 2.5, 2, 16, integer=True)
    with pytest.raises(PianoplayError, match="Seed must be a number"):
        check_range("Seed", "abc", 0, 10)
    with pytest.raises(PianoplayError, match="Count is missing"):
        check_range("Count", None, 1, 4)


def test_cut_wav_takes_the_asked_span(tmp_path):
    from scipy.io import wavfile

    from pianoplay.audio import write_wav

    rate = 8000
    audio = np.arange(10 * rate, dtype=np.int16)  # 10 s, sample value = index
    write_wav(tmp_path / "all.wav", audio, rate)
    cut_wav(tmp_path / "all.wav", 2.0, 3.0, tmp_path / "cut.wav")
    got_rate, cut = wavfile.read(tmp_path / "cut.wav")
    assert got_rate == rate and len(cut) == 3 * rate and cut[0] == 2 * rate
    cut_wav(tmp_path / "all.wav", 9.0, 3.0, tmp_path / "end.wav")  # runs past the end
    assert len(wavfile.read(tmp_path / "end.wav")[1]) == rate


def test_outputs_prunes_old_folders(tmp_path):
    outputs = Outputs(tmp_path, keep_seconds=60)
    old = outputs.new("old")
    past = time.time() - 120
    os.utime(old, (past, past))
    fresh = outputs.new("fresh")
    assert fresh.is_dir() and not old.exists()


def test_outputs_removes_roots_that_killed_runs_left_behind(tmp_path):
    stale = Outputs(tmp_path, keep_seconds=60).root  # as if its process had been killed
    past = time.time() - 120
    os.utime(stale, (past, past))
    live = Outputs(tmp_path, keep_seconds=60).root  # a recent run's root is kept
    Outputs(tmp_path, keep_seconds=60)
    assert not stale.exists() and live.is_dir()


@pytest.fixture(scope="module")
def actions(tmp_path_factory):
    from pianoplay.registry import Registry
    from pianoplay.ui.actions import Actions

    registry = Registry()
    if "vae-nottingham" not in registry.names():
        pytest.skip("the shipped checkpoint vae-nottingham is not installed")
    return Actions(registry, Outputs(tmp_path_factory.mktemp("outputs")))


def test_latent_sliders_move_z_along_their_vectors(actions):
    axes = actions.registry.load("vae-nottingham").latent_axes()
    base = actions.latent_z("vae-nottingham", 5, {})
    np.testing.assert_allclose(actions.latent_z("vae-nottingham", 5, {}), base)
    moved = actions.latent_z("vae-nottingham", 5, {"axis_1": 2.0, "density": -1.0})
    expected = base + 2.0 * axes.directions[0] * axes.std[0] - axes.attributes["note_density"]
    np.testing.assert_allclose(moved, expected, atol=1e-6)
    with pytest.raises(PianoplayError, match="axis 1 must be between"):
        actions.latent_z("vae-nottingham", 5, {"axis_1": 9})


def test_latent_map_marks_the_point(actions, tmp_path):
    axes = actions.registry.load("vae-nottingham").latent_axes()
    latent_map = actions.latent_map("vae-nottingham")
    png = latent_map.png(axes.mean, tmp_path / "map.png")
    x, y = latent_map.pixel(axes.project(axes.mean))
    with Image.open(png) as img:
        assert img.getpixel((round(x), round(y)))[:3] == (214, 39, 40)  # the red marker


def test_wrong_family_is_named(actions):
    lms = actions.names(("chord-lstm", "roll-lstm"))
    if not lms:
        pytest.skip("no language-model checkpoint installed")
    with pytest.raises(PianoplayError, match="needs a vae checkpoint"):
        actions.interpolate(lms[0], "a.mid", "b.mid", 4, 120, 0)
