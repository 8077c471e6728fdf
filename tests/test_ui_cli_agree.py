"""The app and the CLI read one home for each limit and default (STYLE.md item 11):
interpolation steps, primer bars; ``pianoplay checkpoints`` lists every family's numbers."""

from __future__ import annotations

import os
import subprocess
import sys

from pianoplay.limits import PRIMER_BARS, STEPS_RANGE
from pianoplay.paths import REPO_ROOT, data_dir


def pianoplay(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "pianoplay", *map(str, args)], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_interpolate_steps_follow_the_app():
    a, b = sorted((data_dir() / "nottingham" / "test").glob("*.mid"))[:2]
    lo, hi = STEPS_RANGE
    result = pianoplay("interpolate", a, b, "--steps", hi + 1, "--out", "/nonexistent")
    assert result.returncode == 2, result.stderr
    assert f"--steps must be between {lo} and {hi}, not {hi + 1}" in result.stderr
    assert f"({lo}-{hi}," in " ".join(pianoplay("interpolate", "--help").stdout.split())


def test_primer_bars_default_is_the_apps():
    help_text = " ".join(pianoplay("generate", "--help").stdout.split())
    assert f"default {PRIMER_BARS}" in help_text.split("--primer-bars PRIMER_BARS")[-1][:120]


def test_checkpoints_lists_numbers_for_vaes_too():
    out = pianoplay("checkpoints").stdout
    line = next(x for x in out.splitlines() if x.startswith("vae-nottingham "))
    assert "test.is_nll_per_frame=2.762" in line
