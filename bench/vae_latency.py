"""Latency of the VAE paths the app uses, on this machine's CPU.

    .venv/bin/python bench/vae_latency.py [--checkpoint vae-nottingham] [--repeats 10]

- decode: one z -> a 128-frame roll (greedy; a slider move)
- sample4: 4 pieces in one batched decode
- sample+audio+png: one sampled piece, rendered with FluidSynth as the app's
  previews (22.05 kHz mono, no effects) and drawn as a PNG (the app's "new piece" button)
- encode: one MIDI file -> window -> z
Median milliseconds; torch uses one thread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from pianoplay.models.registry import Registry
from pianoplay.paths import data_dir


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="vae-nottingham")
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(1)
    vae = Registry(device="cpu").load(args.checkpoint)
    z = np.random.default_rng(0).normal(size=(1, vae.latent_dim))
    midi = sorted((data_dir() / "nottingham" / "test").glob("*.mid"))[0]
    res = {"checkpoint": args.checkpoint,
           "decode_ms": timed(lambda: vae.decode(z), args.repeats),
           "sample4_ms": timed(lambda: vae.sample(4, 0.8, seed=1), args.repeats),
           "encode_midi_ms": timed(lambda: vae.encode(midi), args.repeats)}
    try:
        from pianoplay.audio.plot import roll_png
        from pianoplay.audio.synth import render
        from pianoplay.ui.outputs import EFFECTS, MONO, SAMPLE_RATE

        tmp = Path(tempfile.mkdtemp())

        def full() -> None:
            roll = vae.sample(1, 0.8, seed=2)[0]
            render(vae.to_midi(roll), SAMPLE_RATE, effects=EFFECTS, mono=MONO)
            roll_png(roll, tmp / "x.png", steps_per_bar=vae.steps_per_bar)

        res["sample_audio_png_ms"] = timed(full, args.repeats)
    except Exception as err:  # no soundfont on this machine
        res["sample_audio_png_ms"] = f"skipped ({err})"
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
