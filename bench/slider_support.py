"""Do the attribute sliders stay music at their ends? (issue 18, item 5)

On 16 unseen tunes of the Nottingham test split, uploaded as the Latent tab's start point
(their best 16 bars), the density and register sliders are set to -2, -1, 0, +1, +2
alone through the app's own ``latent_z`` and decoded as the tab decodes them. Measured:

- the attribute's mean over the tunes (onsets per frame; mean pitch), which should rise
  monotonically by the margins of ``bench/sliders.py`` (1.5x; 7 semitones);
- ``keep``: the share of the tune's onsets (key and step, in place) still there;
- set similarity (``shared/MUSIC-MEASURES.md``) of the 16 moved pieces, in the files'
  keys, to the whole test split over the statistics the slider should leave alone
  (density: mean pitch, pitch spread, pitch classes; register: onsets, duration, keys
  down, pitch classes). ``ceiling``: the 16 tunes' own windows scored the same way.

    .venv/bin/python bench/slider_support.py [--pieces 16] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sliders import how  # bench/sliders.py: what each slider does

from pianoplay import paths

AMOUNTS = (-2.0, -1.0, 0.0, 1.0, 2.0)
SLIDERS = {"density": "note_density", "register": "mean_pitch"}
LEAVE_ALONE = {"density": ("mean_pitch", "pitch_spread", "pitch_class"),
               "register": ("onsets", "duration", "keys_down", "pitch_class")}


def notes_in_key(roll, transpose: int) -> np.ndarray:
    """(N, 3) MIDI notes (pitch, onset, end) of a roll in C, moved back to its file's key."""
    from pianoplay.music.roll import roll_to_notes, shift_keys

    notes = roll_to_notes(shift_keys(roll, -transpose)).copy()
    notes[:, 0] += 21
    return notes


def kept(roll, original) -> float:
    """Share of ``original``'s onsets (key, step) that ``roll`` has in place."""
    from pianoplay.models.latent.axes import onsets

    a, b = onsets(original), onsets(roll[: len(original)])
    return float(b[a].sum() / max(a.sum(), 1))


def measure(checkpoint: str, pieces: int) -> dict:
    from pianoplay.models.latent.axes import attributes
    from pianoplay.models.registry import Registry
    from pianoplay.music.similarity import set_similarity
    from pianoplay.ui.actions import Actions

    registry = Registry(device="cpu")
    actions = Actions(registry)
    vae = registry.load(checkpoint)
    files = sorted((paths.data_dir() / "nottingham" / "test").glob("*.mid"))
    starts = [vae.encode(str(f)) for f in files[:pieces]]
    reference = [str(f) for f in files]
    own = [notes_in_key(s.roll, s.transpose) for s in starts]
    table = {}
    for slider, attribute in SLIDERS.items():
        rows = []
        for amount in AMOUNTS:
            values, keeps, moved = [], [], []
            for start in starts:
                z = actions.latent_z(checkpoint, 1, {slider: amount}, start)
                roll = vae.decode(z[None])[0][: len(start.roll)]
                values.append(attributes(roll)[attribute])
                keeps.append(kept(roll, start.roll))
                moved.append(notes_in_key(roll, start.transpose))
            sim = set_similarity(moved, reference, LEAVE_ALONE[slider])
            rows.append({"amount": amount, "attribute": float(np.nanmean(values)),
                         "keep": float(np.mean(keeps)), "similarity": sim["similarity"],
                         "parts": {k: v for k, v in sim.items() if k != "similarity"}})
        means = [r["attribute"] for r in rows]
        low, high = means[0], means[-1]
        margin = high >= 1.5 * low if slider == "density" else high - low >= 7.0
        table[slider] = {
            "attribute": attribute, "rows": rows,
            "how": how(vae.latent_axes(), attribute),
            "monotonic": all(b > a for a, b in zip(means, means[1:])), "margin_met": margin,
            "ceiling": set_similarity(own, reference, LEAVE_ALONE[slider])["similarity"],
        }
    return table


def main(argv=None) -> int:
    import torch

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default="vae-faithful")
    p.add_argument("--pieces", type=int, default=16)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    start = time.time()
    table = measure(args.checkpoint, args.pieces)
    print(f"| slider ({args.checkpoint}, {args.pieces} test tunes) | how | amount | attribute "
          "| onsets kept | similarity (left alone) |")
    print("|---|---|---|---|---|---|")
    for slider, row in table.items():
        for r in row["rows"]:
            print(f"| {slider} | {row['how']} | {r['amount']:+g} | {r['attribute']:.3f} | "
                  f"{r['keep']:.2f} | {r['similarity']:.3f} |")
        print(f"| {slider} | | monotonic {row['monotonic']}, margin {row['margin_met']} | | "
              f"| tunes themselves {row['ceiling']:.3f} |")
    out = args.json or Path(f"bench/results/slider_support_{args.checkpoint}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"command": "python bench/slider_support.py"
                               + (f" --pieces {args.pieces}" if args.pieces != 16 else ""),
                               "seconds": round(time.time() - start, 1), **table}, indent=1)
                   + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
