"""Silence in an interpolation path's audio: every step padded to the window, against
each step at its own length (pianoplay.music.join.join_steps).

    .venv/bin/python bench/path_silence.py [--checkpoint vae-nottingham] [--steps 8]
        [--a jigs_simple_chords_11.mid] [--b hpps_simple_chords_11.mid]

Two Nottingham test tunes shorter than the model's window (no rests in them), decoded
as the app does (seed 0, the checkpoint's temperature, its first path mode) and rendered
with FluidSynth as the app renders; silence = 10-ms frames whose peak is below -60 dBFS.
"""

from __future__ import annotations

import argparse

import numpy as np

from pianoplay.audio.synth import render
from pianoplay.models.registry import Registry
from pianoplay.music.join import join_steps, silent_share
from pianoplay.paths import data_dir
from pianoplay.ui.outputs import EFFECTS, MONO, SAMPLE_RATE


def audio_silence(audio: np.ndarray, rate: int) -> tuple[float, float]:
    """(silent seconds, seconds) of a rendering: 10-ms frames below -60 dBFS."""
    frame = rate // 100
    n = len(audio) // frame
    peaks = np.abs(audio[: n * frame].reshape(n, -1)).max(axis=1)
    return float((peaks < 1e-3).sum() / 100), n / 100


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="vae-nottingham")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--a", default="jigs_simple_chords_11.mid")
    ap.add_argument("--b", default="hpps_simple_chords_11.mid")
    args = ap.parse_args()
    vae = Registry(device="cpu").load(args.checkpoint)
    folder = data_dir() / "nottingham" / "test"
    enc = vae.encode_many([str(folder / args.a), str(folder / args.b)])
    rolls = vae.interpolate(enc[0], enc[1], args.steps, seed=0,
                            mode=vae.interpolation_modes[0])
    beat = vae.steps_per_quarter  # a quarter-note beat
    for label, roll in (("padded", np.concatenate(rolls)),
                        ("joined", join_steps(rolls, beat).roll)):
        pm = vae.to_midi(roll, tempo=120.0, program=0)
        audio = render(pm, sample_rate=SAMPLE_RATE, program=0, effects=EFFECTS, mono=MONO)
        silent, total = audio_silence(audio, SAMPLE_RATE)
        print(f"{label}: {len(roll)} steps, {silent_share(roll):.1%} of steps silent; audio "
              f"{silent:.1f} of {total:.1f} s silent ({silent / total:.1%})")


if __name__ == "__main__":
    main()
