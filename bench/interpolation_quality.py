"""MusicVAE's interpolation experiment on held-out Nottingham windows.

    .venv/bin/python bench/interpolation_quality.py [--checkpoint vae-nottingham] [--pairs 200]

For random pairs (A, B) of full 128-frame test windows and alpha in [0, 1]:

- latent: decode the slerp of the posterior means of A and B as the app does
  (``TrainedVAE.decode``: sampled at temperature 0.8 with a fixed seed; ``--greedy``: argmax);
- data: each cell of the roll comes from B with probability alpha, else from A.

Reported per alpha: the Hamming distance to A normalised by that between A and B
(it should rise from ~0 to ~1), and the cost of the interpolated roll under an
independent sequence model (the chord-LSTM checkpoint when present, else a
Witten-Bell smoothed chord-token bigram fitted on the train split), in nats per
frame. Latent interpolations should stay near the endpoints' cost; data-space
mixtures show a hump. Writes a PNG with both curves (in the checkpoint folder) and
bench/results/interpolation_quality_<checkpoint>.json.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import torch

from pianoplay.data.benchmark import load_benchmark
from pianoplay.models.music_vae.evaluate import tile_windows
from pianoplay.models.registry import Registry
from pianoplay.music.vocab import ChordVocab
from pianoplay.paths import data_dir


class BigramLM:
    """Witten-Bell interpolated chord-token bigram; UNK frames charged exactly with
    the vocabulary's renormalised Bernoulli."""

    name = "chord bigram (Witten-Bell), train split"

    def __init__(self, rolls: list[np.ndarray]) -> None:
        self.vocab = ChordVocab.build(rolls)
        V = self.vocab.n_out
        uni = np.ones(V)  # add-one unigram
        self.big: dict[int, Counter] = defaultdict(Counter)
        for r in rolls:
            t = self.vocab.encode(r)
            np.add.at(uni, t, 1)
            for a, b in zip(t[:-1], t[1:]):
                self.big[int(a)][int(b)] += 1
        self.uni = uni / uni.sum()

    def log_prob(self, rolls: list[np.ndarray]) -> list[np.ndarray]:
        out = []
        for r in rolls:
            tok, extra = self.vocab.targets(r)
            nll = np.empty(len(tok))
            nll[0] = -np.log(self.uni[tok[0]]) - extra[0]
            for i in range(1, len(tok)):
                c = self.big.get(int(tok[i - 1]))
                n, types = (sum(c.values()), len(c)) if c else (0, 0)
                lam = n / (n + types) if n else 0.0
                p = (lam * c[int(tok[i])] / n if n else 0.0) + (1 - lam) * self.uni[tok[i]]
                nll[i] = -np.log(p) - extra[i]
            out.append(nll)
        return out


def sequence_model(name: str, train_rolls):
    try:
        lm = Registry(device="cpu").load(name)
        lm.name = f"{name} (chord-LSTM)"
        return lm
    except Exception as err:  # not trained yet: fall back to the n-gram
        print(f"sequence model {name!r} unavailable ({err}); using a smoothed bigram")
        return BigramLM(train_rolls)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="vae-nottingham")
    ap.add_argument("--lm", default="chord-lstm-nottingham", help="independent sequence model")
    ap.add_argument("--data", type=Path, default=data_dir() / "benchmark" / "Nottingham.mat")
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--alphas", type=int, default=11)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--greedy", action="store_true", help="argmax decoding of latent points")
    ap.add_argument(
        "--out", type=Path, default=None, help="PNG (default: in the checkpoint folder)"
    )
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()

    vae = Registry(device="cpu").load(args.checkpoint)
    W = vae.n_steps
    test = load_benchmark(args.data, "test")
    wins = [w for _, _, w in tile_windows(test, W) if len(w) == W and w.any()]
    rng = np.random.default_rng(args.seed)
    idx = rng.permutation(len(wins))
    pairs = [(wins[i], wins[j]) for i, j in zip(idx, np.roll(idx, 1))][: args.pairs]
    A = np.stack([a for a, _ in pairs]).astype(np.uint8)  # (P, W, 88)
    B = np.stack([b for _, b in pairs]).astype(np.uint8)
    za, zb = vae.encode_rolls(list(A)), vae.encode_rolls(list(B))
    lm = sequence_model(args.lm, load_benchmark(args.data, "train"))
    alphas = np.linspace(0, 1, args.alphas)
    dist_ab = np.abs(A.astype(int) - B).sum((1, 2))  # (P,)
    res = {"latent": {"hamming": [], "nll": []}, "data": {"hamming": [], "nll": []}}
    for t in alphas:
        z = np.stack([_slerp(a, b, t) for a, b in zip(za, zb)])
        lat = np.stack(vae.decode(z, greedy=args.greedy))  # (P, W, 88)
        mix = np.where(rng.random(A.shape) < t, B, A).astype(np.uint8)
        for kind, x in (("latent", lat), ("data", mix)):
            ham = np.abs(x.astype(int) - A).sum((1, 2)) / np.maximum(dist_ab, 1)
            nll = np.mean([v[1:].mean() for v in lm.log_prob(list(x))])  # first frame unscored
            res[kind]["hamming"].append(float(ham.mean()))
            res[kind]["nll"].append(float(nll))
        print(
            f"alpha {t:.2f}  latent: hamming {res['latent']['hamming'][-1]:.3f} nll "
            f"{res['latent']['nll'][-1]:.3f}   data: hamming {res['data']['hamming'][-1]:.3f} "
            f"nll {res['data']['nll'][-1]:.3f}",
            flush=True,
        )
    real = float(np.mean([v[1:].mean() for v in lm.log_prob(list(A) + list(B))]))
    summary = {
        "checkpoint": Path(vae.folder).name,
        "pairs": len(pairs),
        "window_frames": W,
        "sequence_model": lm.name,
        "decoding": "greedy" if args.greedy else "sampled, temperature 0.8, fixed seed",
        "alphas": alphas.tolist(),
        "endpoints_real_nll": real,
        **res,
        "seconds": time.time() - t0,
    }
    for kind in ("latent", "data"):
        nll = res[kind]["nll"]
        summary[f"{kind}_hump"] = float(max(nll[1:-1]) - (nll[0] + nll[-1]) / 2)
    folder = Path(vae.folder)
    png = args.out or folder / "interpolation_quality.png"
    plot(summary, png)
    out_json = Path(f"bench/results/interpolation_quality_{folder.name}.json")
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k.endswith("hump") or k == "pairs"}))
    print(f"wrote {png} and {out_json}")


def _slerp(a, b, t):
    from pianoplay.models.music_vae.trained import slerp

    return slerp(np.asarray(a, np.float64), np.asarray(b, np.float64), float(t))


def plot(s: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    for kind, style in (("latent", "o-"), ("data", "s--")):
        ax1.plot(s["alphas"], s[kind]["hamming"], style, label=f"{kind} interpolation")
        ax2.plot(s["alphas"], s[kind]["nll"], style, label=f"{kind} interpolation")
    ax2.axhline(s["endpoints_real_nll"], color="grey", lw=0.8, label="real windows A, B")
    ax1.set(
        xlabel="alpha",
        ylabel="Hamming distance to A / d(A, B)",
        title=f"distance to A ({s['pairs']} test pairs)",
    )
    ax2.set(xlabel="alpha", ylabel="nats / frame", title=f"cost under {s['sequence_model']}")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    main()
