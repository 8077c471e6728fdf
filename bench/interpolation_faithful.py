"""MusicVAE's interpolation protocol for the faithful (segment) VAE, as the app runs it.

    .venv/bin/python bench/interpolation_faithful.py [--checkpoint vae-faithful] [--pairs 100]
        [--steps 8] [--mode bars|slerp] [--json PATH]

For random pairs (A, B) of Nottingham test tunes: encode each (its best 16 bars, as
the Interpolate tab does), decode the path deterministically (``--mode``: the library's
``interpolate`` mode, default its default "bars"; "slerp" for MusicVAE's spherical path),
and report per step:

- the Hamming distance (sounding cells, sixteenth grid) of the step to A's window,
  normalised by that between the windows of A and B: it should rise from ~0 to ~1,
  and monotonically for each pair;
- the cost of the step under an independent model (``chord-lstm-nottingham``, on the
  step's eighth-note frames), nats per frame: the interior steps should cost no more
  than 0.3 nats/frame above the mean of the two endpoints. Two summaries: the curve
  (MusicVAE's figure: the mean cost of each step over the pairs, its highest interior
  step minus the mean of its ends) and per pair (each pair's highest interior step minus
  its ends, averaged). The per-pair one cannot reach 0 even for a perfect path: a path
  whose step t costs (1 - t) x A's cost + t x B's (t from 0 to 1) scores
  ``|cost A - cost B| / 2 x (steps - 3) / (steps - 1)``, reported as ``..._floor``.

Writes bench/results/interpolation_<checkpoint>.json (or ``--json PATH``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from pianoplay import paths


def frames(roll: np.ndarray) -> np.ndarray:
    return (roll[..., 0] > 0) if roll.ndim == 3 else roll > 0


def eighths(roll: np.ndarray) -> np.ndarray:
    """(T, 88, 2) sixteenths -> (T // 2, 88) uint8 eighth-note frames (what sounds on each
    eighth), the benchmark grid of the chord-LSTM."""
    return frames(roll)[::2].astype(np.uint8)


def main(argv=None) -> int:
    import torch

    from pianoplay.models.registry import Registry

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default="vae-faithful")
    p.add_argument("--judge", default="chord-lstm-nottingham")
    p.add_argument("--pairs", type=int, default=100)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mode", default=None, help="interpolate's mode (default: its default)")
    p.add_argument("--json", type=Path, default=None, help="where to write the results")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    registry = Registry(device="cpu")
    vae, judge = registry.load(args.checkpoint), registry.load(args.judge)
    files = sorted((paths.data_dir() / "nottingham" / "test").glob("*.mid"))
    rng = np.random.default_rng(args.seed)
    enc = {}
    dist, cost, mono = [], [], []
    for _ in range(args.pairs):
        i, j = rng.choice(len(files), 2, replace=False)
        for k in (i, j):
            if k not in enc:
                enc[k] = vae.encode(str(files[k]))
        a, b = enc[i], enc[j]
        L = min(len(a.roll), len(b.roll))
        mode = {"mode": args.mode} if args.mode else {}
        path = [r[:L] for r in vae.interpolate(a, b, args.steps, **mode)]
        fa, fb = frames(a.roll[:L]), frames(b.roll[:L])
        ab = max(int((fa != fb).sum()), 1)
        d = [int((frames(r) != fa).sum()) / ab for r in path]
        dist.append(d)
        mono.append(all(y >= x for x, y in zip(d, d[1:])))
        nll = judge.log_prob([eighths(r) for r in path])
        cost.append([float(np.mean(x[1:])) for x in nll])  # first frame unscored
    dist, cost = np.array(dist), np.array(cost)
    ends = (cost[:, 0] + cost[:, -1]) / 2
    excess = cost[:, 1:-1].max(1) - ends
    floor = np.abs(cost[:, 0] - cost[:, -1]) / 2 * (args.steps - 3) / (args.steps - 1)
    curve = cost.mean(0)
    out = {
        "checkpoint": args.checkpoint, "judge": args.judge, "pairs": args.pairs,
        "steps": args.steps,
        "mode": args.mode or vae.interpolation_modes[0],
        "hamming_to_A_by_step": dist.mean(0).round(4).tolist(),
        "monotonic_pairs": float(np.mean(mono)),
        "judge_nll_by_step": curve.round(4).tolist(),
        "interior_curve_max_minus_endpoints": float(curve[1:-1].max() - (curve[0] + curve[-1]) / 2),
        "interior_max_minus_endpoints_mean": float(excess.mean()),
        "interior_max_minus_endpoints_median": float(np.median(excess)),
        "interior_max_minus_endpoints_floor_mean": float(floor.mean()),
        "pairs_within_0.3": float(np.mean(excess <= 0.3)),
    }
    print(json.dumps(out, indent=1))
    dest = args.json or Path(f"bench/results/interpolation_{args.checkpoint}.json")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
