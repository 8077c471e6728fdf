"""Decoding speed of an LM checkpoint (not a test): beam sampling, beam search, batched sampling.

    .venv/bin/python bench/lm_speed.py [--checkpoint chord-lstm-nottingham] [--repeats 7]

Targets (issues 4 and 12, 2-core CPU): beam width 8 over 16 bars <= 1 s, for the app's
"beam" (beam sampling: 8 beams x 2 candidate bars) and for argmax beam search; sampling 32
sequences of 16 bars <= 1 s. 16 bars are 128 eighth frames for the Nottingham models and
256 sixteenth frames (512 tokens: two hands a frame) for chord-lstm-classical. Prints medians
and writes bench/results/lm_speed.json (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from pianoplay.models.registry import Registry


def timed(fn, repeats: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="chord-lstm-nottingham")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (0 = torch default; 2 threads collapse when another job holds a core)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "lm_speed.json"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    trained = Registry(device="cpu").load(args.checkpoint)
    steps = 16 * trained.steps_per_bar
    cases = {
        "beam_w8_16bars": lambda: trained.generate(
            steps=steps, strategy="beam", beam_width=8, seed=0
        ),
        "beam_search_w8_16bars": lambda: trained.generate(
            steps=steps, strategy="beam-search", beam_width=8
        ),
        "sample_32x16bars": lambda: trained.generate(n=32, steps=steps, strategy="sample", seed=0),
    }
    if trained.config["family"] == "roll-lstm":
        cases = {"sample_32x16bars": cases["sample_32x16bars"]}
    result = {
        "checkpoint": args.checkpoint,
        "frames": steps,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    for name, fn in cases.items():
        times = timed(fn, args.repeats)
        result[name] = {
            "median_s": round(statistics.median(times), 4),
            "min_s": round(min(times), 4),
            "target_s": 1.0,
            "ok": statistics.median(times) <= 1.0,
        }
        print(
            f"{name:18s} median {statistics.median(times):.3f} s  "
            f"min {min(times):.3f} s  (target 1 s)"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
