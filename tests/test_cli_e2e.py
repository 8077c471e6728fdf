"""Every ``pianoplay`` subcommand end to end, as a user runs it: a subprocess on real files.

Good input: exit 0 and the files it promises. Bad input: exit 2 and exactly one
line on stderr, no traceback.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from pianoplay.music.midi import load_midi
from pianoplay.paths import data_dir

REPO = Path(__file__).resolve().parents[1]
NOTTINGHAM_TEST = sorted((data_dir() / "nottingham" / "test").glob("*.mid"))
BENCHMARK = data_dir() / "benchmark" / "Nottingham.mat"
D_MAJOR = data_dir() / "nottingham" / "test" / "ashover_simple_chords_11.mid"  # not in C


def pianoplay(*args, timeout: float = 120, **env) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", **env}
    return subprocess.run([sys.executable, "-m", "pianoplay", *map(str, args)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=timeout)


def assert_ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def assert_files(folder: Path, *names: str) -> None:
    """Each file exists and is not empty; MIDI files load again."""
    for name in names:
        path = folder / name
        assert path.is_file() and path.stat().st_size > 0, f"missing {path}"
        if path.suffix == ".mid":
            assert load_midi(path).pitched_notes


def assert_user_error(result: subprocess.CompletedProcess, *words: str) -> None:
    """Exit 2, one line on stderr that names what is wrong, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture(scope="module")
def tune() -> Path:
    return NOTTINGHAM_TEST[3]


@pytest.fixture(scope="module")
def corrupt(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bad") / "corrupt.mid"
    path.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02" + b"\x8f" * 40)
    return path


# -- render ----------------------------------------------------------------------------------

def test_render_writes_wav_and_png(tune, tmp_path):
    result = pianoplay("render", tune, tmp_path / "out.wav", "--png", tmp_path / "out.png",
                       "--tempo", "90")
    assert_ok(result)
    with wave.open(str(tmp_path / "out.wav")) as f:
        assert f.getnchannels() == 2 and f.getnframes() > 10 * f.getframerate()
    assert (tmp_path / "out.png").stat().st_size > 0
    assert "Modulator" not in result.stderr  # FluidSynth's own warnings are silenced


@pytest.mark.parametrize("bad", ["missing", "corrupt", "soundfont", "tempo", "suffix"])
def test_render_bad_input(bad, tune, corrupt, tmp_path):
    args = {
        "missing": [tmp_path / "nope.mid", tmp_path / "o.wav"],
        "corrupt": [corrupt, tmp_path / "o.wav"],
        "soundfont": [tune, tmp_path / "o.wav", "--soundfont", "/nope.sf2"],
        "tempo": [tune, tmp_path / "o.wav", "--tempo", "0"],
        "suffix": [tune, tmp_path / "o.mp3"],
    }[bad]
    word = {"missing": "nope.mid", "corrupt": "corrupt.mid", "soundfont": "/nope.sf2",
            "tempo": "--tempo", "suffix": ".wav"}[bad]
    assert_user_error(pianoplay("render", *args), word)
    assert not (tmp_path / "o.wav").exists()


# -- inspect, checkpoints --------------------------------------------------------------------

def test_inspect(tune):
    result = pianoplay("inspect", tune, "--bars", "8")
    assert_ok(result)
    for line in ("ticks per quarter", "tracks:", "key:", "time signature:", "8-bar windows:"):
        assert line in result.stdout


def test_inspect_and_render_a_cut_off_file(tune, tmp_path):
    cut = tmp_path / "cut.mid"
    cut.write_bytes(tune.read_bytes()[:1500])
    result = pianoplay("inspect", cut)
    assert_ok(result)
    assert "repaired: track 2 is cut off" in result.stdout
    result = pianoplay("render", cut, tmp_path / "cut.wav")
    assert_ok(result)
    [warning] = result.stderr.strip().splitlines()  # what was repaired, as one line
    assert warning.startswith("pianoplay render: warning: cut.mid: track 2 is cut off")


@pytest.mark.parametrize("bad", ["missing", "corrupt", "folder", "flag"])
def test_inspect_bad_input(bad, tune, corrupt, tmp_path):
    args = {"missing": [tmp_path / "nope.mid"], "corrupt": [corrupt], "folder": [tmp_path],
            "flag": [tune, "--steps-per-quarter", "0"]}[bad]
    word = {"missing": "nope.mid", "corrupt": "corrupt.mid", "folder": "folder",
            "flag": "--steps-per-quarter"}[bad]
    assert_user_error(pianoplay("inspect", *args), word)


def test_checkpoints_lists_every_family():
    result = pianoplay("checkpoints")
    assert_ok(result)
    for name in ("vae-nottingham", "chord-lstm-nottingham"):
        assert name in result.stdout
    listed = json.loads(pianoplay("checkpoints", "--json").stdout)
    assert {"music-vae", "segment-vae", "chord-lstm"} <= {c["family"] for c in listed}
    assert_user_error(pianoplay("checkpoints", "--bogus"), "--bogus")


# -- sample, interpolate, generate -------------------------------------------------------------

def test_sample(tmp_path):
    result = pianoplay("sample", "--checkpoint", "vae-nottingham", "-n", "1", "--seed", "1",
                       "--out", tmp_path)
    assert_ok(result)
    assert_files(tmp_path, "sample_1.mid", "sample_1.png", "sample_1.wav")


@pytest.mark.parametrize("bad", ["checkpoint", "family", "count", "temperature", "type"])
def test_sample_bad_input(bad, tmp_path):
    args = {"checkpoint": ["--checkpoint", "no-such-model"],
            "family": ["--checkpoint", "vae-segment-lstm"],
            "count": ["-n", "0"], "temperature": ["--temperature", "9"],
            "type": ["--tempo", "fast"]}[bad]
    word = {"checkpoint": "no-such-model", "family": "not offered for sample", "count": "-n",
            "temperature": "--temperature", "type": "--tempo"}[bad]
    assert_user_error(pianoplay("sample", *args, "--out", tmp_path / "out"), word)
    assert not (tmp_path / "out").exists()


def test_interpolate(tmp_path):
    a, b = D_MAJOR, NOTTINGHAM_TEST[10]
    result = pianoplay("interpolate", a, b, "--steps", "3", "--seed", "1", "--no-audio",
                       "--out", tmp_path)
    assert_ok(result)
    assert f"transposed {a.name} by -2 semitones to C" in result.stdout
    assert_files(tmp_path, *(f"step_{i}.{ext}" for i in (1, 2, 3) for ext in ("mid", "png")),
                 "path.mid", "path.png", "grid.png")


def test_interpolate_paths(tmp_path):
    """--path slerp gives a middle step other than the default bar-by-bar path, with the
    same ends; a one-code VAE refuses --path bars and says why."""
    a, b = NOTTINGHAM_TEST[3], NOTTINGHAM_TEST[10]
    steps = {}
    for path in ("bars", "slerp"):
        out = tmp_path / path
        assert_ok(pianoplay("interpolate", a, b, "--steps", "3", "--no-audio", "--path", path,
                            "--out", out))
        steps[path] = [(out / f"step_{i}.mid").read_bytes() for i in (1, 2, 3)]
    assert steps["bars"][0] == steps["slerp"][0] and steps["bars"][2] == steps["slerp"][2]
    assert steps["bars"][1] != steps["slerp"][1]
    refused = pianoplay("interpolate", a, b, "--checkpoint", "vae-nottingham", "--path", "bars",
                        "--out", tmp_path / "no")
    assert_user_error(refused, "slerp' only")


@pytest.mark.parametrize("bad", ["missing", "corrupt", "steps", "checkpoint"])
def test_interpolate_bad_input(bad, tune, corrupt, tmp_path):
    args = {"missing": [tmp_path / "nope.mid", tune], "corrupt": [tune, corrupt],
            "steps": [tune, tune, "--steps", "1"],
            "checkpoint": [tune, tune, "--checkpoint", "no-such-model"]}[bad]
    word = {"missing": "nope.mid", "corrupt": "corrupt.mid", "steps": "--steps",
            "checkpoint": "no-such-model"}[bad]
    assert_user_error(pianoplay("interpolate", *args, "--out", tmp_path / "out"), word)
    assert not (tmp_path / "out").exists()


def test_generate_with_primer(tmp_path):
    result = pianoplay("generate", "--checkpoint", "chord-lstm-nottingham", "--bars", "2",
                       "--primer", D_MAJOR, "--primer-bars", "2", "--seed", "1", "--out", tmp_path)
    assert_ok(result)
    assert f"transposed {D_MAJOR.name} (D major) by -2 semitones to C" in result.stdout
    stem = "chord-lstm-nottingham-top-p-1"  # the app's strategy, pianoplay.defaults
    assert_files(tmp_path, f"{stem}.mid", f"{stem}.png", f"{stem}.wav")


@pytest.mark.parametrize("bad", ["checkpoint", "family", "primer", "corrupt", "top-k", "bars"])
def test_generate_bad_input(bad, corrupt, tmp_path):
    lm = ["--checkpoint", "chord-lstm-nottingham"]
    args = {"checkpoint": ["--checkpoint", "no-such-model"],
            "family": ["--checkpoint", "vae-nottingham"],
            "primer": [*lm, "--primer", tmp_path / "nope.mid"],
            "corrupt": [*lm, "--primer", corrupt],
            "top-k": [*lm, "--strategy", "top-k", "--top-k", "0"],
            "bars": [*lm, "--bars", "0"]}[bad]
    word = {"checkpoint": "no-such-model", "family": "vae-nottingham is not offered for generate",
            "primer": "nope.mid",
            "corrupt": "corrupt.mid", "top-k": "--top-k", "bars": "--bars"}[bad]
    assert_user_error(pianoplay("generate", *args, "--out", tmp_path / "out"), word)
    assert not (tmp_path / "out").exists()


# -- evaluate, train, data ---------------------------------------------------------------------

def test_evaluate_on_two_pieces():
    result = pianoplay("evaluate", "--checkpoint", "chord-lstm-nottingham", "--data", BENCHMARK,
                       "--limit", "2", "--json")
    assert_ok(result)
    metrics = json.loads(result.stdout)
    assert metrics["pieces"] == 2 and math.isfinite(metrics["nll_per_frame"])


@pytest.mark.parametrize("bad", ["checkpoint", "data", "midi", "limit", "split"])
def test_evaluate_bad_input(bad, corrupt, tmp_path):
    good = ["--checkpoint", "chord-lstm-nottingham", "--data", BENCHMARK]
    args = {"checkpoint": ["--checkpoint", "no-such-model", "--data", BENCHMARK],
            "data": ["--checkpoint", "chord-lstm-nottingham", "--data", tmp_path / "nope.mat"],
            "midi": ["--checkpoint", "chord-lstm-nottingham", "--data", corrupt],
            "limit": [*good, "--limit", "0"], "split": [*good, "--split", "all"]}[bad]
    word = {"checkpoint": "no-such-model", "data": "nope.mat", "midi": "corrupt.mid",
            "limit": "--limit", "split": "--split"}[bad]
    assert_user_error(pianoplay("evaluate", *args), word)


@pytest.mark.slow
def test_train_chord_lstm_then_generate_from_its_folder(tmp_path):
    out = tmp_path / "tiny"
    result = pianoplay("train", "chord-lstm", "--data", BENCHMARK, "--out", out, "--epochs", "1",
                       "--limit", "8", "--embd", "8", "--hidden", "16", "--layers", "1",
                       "--no-test", "--threads", "1")
    assert_ok(result)
    assert_files(out, "config.json", "model.safetensors", "vocab.json")
    result = pianoplay("generate", "--checkpoint", out, "--bars", "1", "--no-audio",
                       "--out", tmp_path / "gen")
    assert_ok(result)
    assert_files(tmp_path / "gen", "tiny-top-p-1.mid")


@pytest.mark.slow
def test_train_vae_tiny(tmp_path):
    config = {"model": {"frame_dim": 8, "enc_hidden": 8, "latent_dim": 4, "dec_hidden": 8},
              "train": {"max_epochs": 1, "max_minutes": 0.02, "batch_size": 8}}
    result = pianoplay("train", "vae", "--data", BENCHMARK, "--out", tmp_path / "vae",
                       "--config", json.dumps(config), "--no-test", "--threads", "1")
    assert_ok(result)
    assert_files(tmp_path / "vae", "config.json", "model.safetensors", "vocab.json")


@pytest.mark.parametrize("bad", ["data", "epochs", "config", "family"])
def test_train_bad_input(bad, tmp_path):
    args = {"data": ["chord-lstm", "--data", tmp_path / "nope.mat", "--out", tmp_path / "o"],
            "epochs": ["chord-lstm", "--data", BENCHMARK, "--out", tmp_path / "o",
                       "--epochs", "0"],
            "config": ["vae", "--data", BENCHMARK, "--out", tmp_path / "o", "--config", "{bad"],
            "family": ["transformer", "--data", BENCHMARK]}[bad]
    word = {"data": "nope.mat", "epochs": "--epochs", "config": "--config",
            "family": "transformer"}[bad]
    assert_user_error(pianoplay("train", *args), word)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("name", ["nottingham", "piano-midi-de"])
def test_data_download_offline_is_one_line(name, tmp_path):
    # an unreachable proxy: offline even on a machine with network
    proxy = "http://127.0.0.1:9"
    result = pianoplay("data", "download", name, "--dest", tmp_path, "--timeout", "5",
                       http_proxy=proxy, https_proxy=proxy, HTTP_PROXY=proxy, HTTPS_PROXY=proxy)
    assert_user_error(result, "cannot download")
    assert not (tmp_path / name).exists()
    assert_user_error(pianoplay("data", "download", "jsb"), "invalid choice")
