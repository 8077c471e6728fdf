"""The app's library side without a server: argument checks, audio cutting,
output folders, the latent map, and one action on the shipped VAE."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from PIL import Image

from pianoplay.errors import PianoplayError
from pianoplay.ui.core import check_range
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

    from pianoplay.audio.synth import write_wav

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
    from pianoplay.models.registry import Registry
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
    lms = actions.names("generate")
    if not lms:
        pytest.skip("no language-model checkpoint installed")
    with pytest.raises(PianoplayError, match="is not offered for interpolate: a language model"):
        actions.interpolate(lms[0], "a.mid", "b.mid", 4, 120, 0)


def test_a_missing_or_negative_seed_is_drawn_and_reported(actions):
    seeds = {actions.sample("vae-nottingham", 1, 1, 1.0, -1, 120, 0)[0].seed for _ in range(3)}
    assert len(seeds) == 3 and all(0 <= s < 2**31 for s in seeds)
    piece = actions.sample("vae-nottingham", 1, 2, 1.0, None, 120, 0)[0]
    assert f"seed{piece.seed}" in piece.midi.name
    again = actions.sample("vae-nottingham", 1, 2, 1.0, piece.seed, 120, 0)[0]
    assert again.midi.read_bytes() == piece.midi.read_bytes()


def test_checkpoints_are_named_not_pointed_at(actions):
    from pianoplay.paths import CHECKPOINTS_DIR

    with pytest.raises(PianoplayError, match="unknown checkpoint"):
        actions.sample(str(CHECKPOINTS_DIR / "vae-nottingham"), 1, 1, 1.0, 1, 120, 0)
    with pytest.raises(PianoplayError, match="unknown checkpoint"):
        actions.max_bars("../checkpoints/vae-nottingham")


def test_max_bars_follows_the_checkpoint(actions):
    from pianoplay.ui.core import MAX_LM_BARS

    assert actions.max_bars("vae-nottingham") == 16
    lms = actions.names("generate")
    if lms:
        assert actions.max_bars(lms[0]) == MAX_LM_BARS


def test_model_card_is_readable(actions):
    card = actions.model_card("vae-nottingham")
    table = card.split("\n---\n")[0]
    assert "elbo_nll_per_frame" not in table and "valid.elbo" not in table
    assert "| test | negative log-likelihood, importance-sampled | 2.762 nats per frame |" in table
    assert "variational autoencoder" in table and "**Nottingham**" in table
    assert "frames given back exactly, decoded | 12.5 % |" in table


def test_model_card_shows_unknown_metrics_readably():
    from pianoplay.ui.model_card import metric_rows

    rows = metric_rows({"test": {"new_score_per_bar": 0.5, "note": "text"}, "speed_x": 3})
    assert rows == [("test", "new score per bar", "0.5"), ("-", "speed x", "3")]


# The roll picture itself: tests/test_plot.py.


def test_app_listens_locally_and_shares_only_when_asked():
    import app

    kwargs = app.launch_kwargs(app.parse_args([]))
    assert kwargs["server_name"] == "127.0.0.1" and kwargs["share"] is False
    assert kwargs["max_file_size"] == app.MAX_UPLOAD == "2mb"
    assert app.launch_kwargs(app.parse_args(["--share"]))["share"] is True
    assert "<script>" in kwargs["head"] and "http" not in kwargs["head"]  # no CDN


def test_outputs_stay_under_their_size_limit(tmp_path, monkeypatch):
    from pianoplay.ui import outputs as outputs_module

    monkeypatch.setattr(outputs_module, "CHECK_EVERY", 1)
    monkeypatch.setattr(outputs_module, "MIN_KEEP_SECONDS", 60)
    outputs = Outputs(tmp_path, max_bytes=3000)
    past = time.time() - 600
    old = []
    for i in range(5):  # five old folders of 1000 bytes
        folder = outputs.new(f"old{i}")
        (folder / "a.wav").write_bytes(bytes(1000))
        os.utime(folder, (past + i, past + i))
        old.append(folder)
    fresh = outputs.new("fresh")
    (fresh / "a.wav").write_bytes(bytes(5000))  # recent: kept although over the limit
    outputs.new("next")
    assert not any(f.exists() for f in old) and fresh.exists()


def test_latent_start_points_are_encoded_once(actions):
    if "vae-faithful" not in actions.registry.names():
        pytest.skip("the shipped checkpoint vae-faithful is not installed")
    start = actions.example_start("vae-faithful", 3)
    assert actions.example_start("vae-faithful", 3) is start  # a slider move re-encodes nothing
    assert actions.example_start("vae-faithful", 4) is not start


def test_a_jig_primer_is_marked_at_its_ninth_bar_and_a_clamped_tempo_is_noted(actions, data_dir):
    """A 6/8 primer's roll counts 6/8 bars: "the first 8 bars" end where bar 9 starts (the
    second row of 8 bars); a tempo outside the app's range is played at its end, noted."""
    import json

    jig = data_dir / "nottingham" / "test" / "jigs_simple_chords_11.mid"
    piece = actions.generate("chord-lstm-nottingham", strategy="sample", bars=2, seed=1,
                             primer=jig, tempo=120, program=0)
    with Image.open(piece.png) as img:
        second = json.loads(img.text["pianoplay"])["rows"][1]
    assert second["first"] == 8 * 6  # 8 bars of 6 eighths
    piece = actions.generate("chord-lstm-nottingham", strategy="sample", bars=1, seed=1,
                             tempo=5000, program=0)
    assert piece.notes == ["tempo 5000 is above 240: played at 240"]


def test_a_continuation_keeps_the_primer_in_its_key_and_tempo(actions, data_dir, tmp_path):
    """Generate with a primer: the MIDI starts with the primer's first bars exactly, in the
    primer's key (not moved to C) and at its tempo; the roll marks where the primer ends."""
    import pretty_midi

    from pianoplay.limits import PRIMER_BARS
    from pianoplay.music.roll import load_roll

    source = data_dir / "nottingham" / "test" / "ashover_simple_chords_11.mid"  # D major
    lm = "chord-lstm-nottingham"
    piece = actions.generate(lm, strategy="beam", beam_width=2, bars=2, seed=1, primer=source,
                             tempo=200, program=0)
    given = load_roll(source, steps_per_quarter=2, normalize_key=False)
    out = load_roll(piece.midi, steps_per_quarter=2, normalize_key=False)
    primer_steps = given.bar_starts[PRIMER_BARS]
    np.testing.assert_array_equal(out.roll[:primer_steps], given.roll[:primer_steps])
    assert len(out.roll) > primer_steps
    tempo = pretty_midi.PrettyMIDI(str(piece.midi)).get_tempo_changes()[1][0]
    assert tempo == pytest.approx(given.tempo, rel=1e-3)
    with Image.open(piece.png) as img:  # the primer's end is drawn in the mark colour
        import json

        from pianoplay.audio.plot import MARK

        scale = json.loads(img.text["pianoplay"])
        row = next(r for r in scale["rows"] if r["first"] <= primer_steps < r["end"])
        x = round(row["left"] + (primer_steps - row["first"]) * scale["px_step"])
        column = [img.convert("RGB").getpixel((x, y))[:3] for y in range(row["top"], row["bottom"])]
        assert column.count(MARK) > 10
