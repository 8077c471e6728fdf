"""Do the attribute sliders do what they say? (issue: sliders that move their attribute)

On 32 encoded Nottingham test pieces (their best 16 bars, as the Latent tab encodes an
upload), each attribute slider is set to -2, -1, 0, +1, +2 alone and the decoded piece
is measured: note density (onsets per frame), register (mean pitch), polyphony (keys
sounding together) and rhythm (share of frames where a note starts). A slider passes
when the mean over the pieces rises monotonically with the slider and by the margin of
the goal from -2 to +2: density at least 1.5x, register at least 7 semitones,
polyphony at least one key more, rhythm at least 1.25x. ``per_piece_monotonic`` is the
share of pieces whose own value rises at every step. ``how`` says what the slider does:
"vector" (amount x the attribute vector) or "walk" (the decoder's steepest path, for the
attributes in the checkpoint's ``latent.json`` ``attribute_walk``).

    .venv/bin/python bench/sliders.py [--checkpoint vae-faithful] [--pieces 32] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from pianoplay import paths
from pianoplay.models.latent.axes import attributes

AMOUNTS = (-2.0, -1.0, 0.0, 1.0, 2.0)
SLIDERS = {"density": "note_density", "register": "mean_pitch", "polyphony": "polyphony",
           "rhythm": "rhythmic_activity"}


def goal(slider: str, low: float, high: float) -> bool:
    if slider == "density":
        return high >= 1.5 * low
    if slider == "register":
        return high - low >= 7.0
    if slider == "polyphony":
        return high - low >= 1.0
    return high >= 1.25 * low


def how(axes, attribute: str) -> str:
    """What the slider does: "scale" (moves the music by scale steps), "walk" (the
    decoder's steepest path) or "vector" (amount x the attribute vector)."""
    if attribute in axes.attribute_scale:
        return "scale"
    return "walk" if attribute in axes.attribute_walk else "vector"


def measure(checkpoint: str, pieces: int) -> dict:
    from pianoplay.models.registry import Registry
    from pianoplay.ui.actions import Actions

    registry = Registry(device="cpu")
    actions = Actions(registry)
    vae = registry.load(checkpoint)
    files = sorted((paths.data_dir() / "nottingham" / "test").glob("*.mid"))[:pieces]
    starts = [vae.encode(str(f)) for f in files]
    table = {}
    for slider, attribute in SLIDERS.items():
        means, by_piece = [], []
        for amount in AMOUNTS:
            values = []
            for start in starts:
                z = actions.latent_z(checkpoint, 1, {slider: amount}, start)
                temperature = actions.decode_temperature(checkpoint)
                roll = vae.decode(z[None], temperature=temperature or None, seed=1,
                                  greedy=temperature == 0)[0][: len(start.roll)]
                values.append(attributes(roll)[attribute])
            means.append(float(np.nanmean(values)))
            by_piece.append(values)
        monotonic = all(b > a for a, b in zip(means, means[1:]))
        rising = [all(b > a for a, b in zip(p, p[1:])) for p in np.array(by_piece).T]
        table[slider] = {"attribute": attribute, "amounts": list(AMOUNTS), "means": means,
                         "how": how(vae.latent_axes(), attribute),
                         "monotonic": monotonic, "per_piece_monotonic": float(np.mean(rising)),
                         "goal_met": monotonic and goal(slider, means[0], means[-1])}
    return table


def main(argv=None) -> int:
    import torch

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default="vae-faithful")
    p.add_argument("--pieces", type=int, default=32)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    table = measure(args.checkpoint, args.pieces)
    print(f"| slider ({args.checkpoint}) | how | " + " | ".join(f"{a:+g}" for a in AMOUNTS) +
          " | monotonic | pieces monotonic | goal |")
    print("|---|---|" + "---|" * (len(AMOUNTS) + 3))
    for slider, row in table.items():
        print(f"| {slider} ({row['attribute']}) | {row['how']} | "
              + " | ".join(f"{m:.3f}" for m in row["means"])
              + f" | {row['monotonic']} | {row['per_piece_monotonic']:.2f} | {row['goal_met']} |")
    out = args.json or Path(f"bench/results/sliders_{args.checkpoint}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(table, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
