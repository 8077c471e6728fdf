"""Every ``pianoplay`` subcommand end to end, as a user runs it: a subprocess on real files.

Good input: exit 0 and the files it promises. Bad input: exit 2 and exactly one
line on stderr, no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from pianoplay.paths import data_dir

REPO = Path(__file__).resolve().parents[1]
NOTTINGHAM_TEST = sorted((data_dir() / "nottingham" / "test").glob("*.mid"))


def pianoplay(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "pianoplay", *map(str, args)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=timeout)


def assert_ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


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
