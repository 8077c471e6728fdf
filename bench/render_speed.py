"""Render speed of FluidSynth on real Nottingham tunes (target: >= 50x real time).

    .venv/bin/python bench/render_speed.py [--files 20] [--repeats 3]

Prints one line per measurement and a JSON summary; the first render (which
loads the soundfont) is timed separately.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import pretty_midi

from pianoplay.audio.synth import find_soundfont, render
from pianoplay.paths import data_dir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sample-rate", type=int, default=44100)
    ap.add_argument("--json", type=Path, default=Path("bench/results/render_speed.json"))
    args = ap.parse_args()

    files = sorted((data_dir() / "nottingham" / "test").glob("*.mid"))[: args.files]
    tunes = [pretty_midi.PrettyMIDI(str(f)) for f in files]
    t0 = time.perf_counter()
    render(tunes[0], args.sample_rate)
    first = time.perf_counter() - t0

    ratios, audio_s, wall_s = [], 0.0, 0.0
    for pm in tunes:
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            audio = render(pm, args.sample_rate)
            dt = time.perf_counter() - t0
            seconds = len(audio) / args.sample_rate
            ratios.append(seconds / dt)
            audio_s += seconds
            wall_s += dt
    result = {
        "soundfont": find_soundfont().name,
        "sample_rate": args.sample_rate,
        "files": len(tunes),
        "repeats": args.repeats,
        "audio_seconds": round(audio_s, 1),
        "first_render_s_incl_soundfont_load": round(first, 3),
        "median_x_realtime": round(statistics.median(ratios), 1),
        "overall_x_realtime": round(audio_s / wall_s, 1),
        "min_x_realtime": round(min(ratios), 1),
    }
    print(json.dumps(result, indent=1))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
