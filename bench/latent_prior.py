"""Latent priors over vae-faithful's codes: do their samples sound like the data set,
are they new, and does infilling fit the piece? (issue 18)

    python bench/latent_prior.py --priors prior-faithful --json bench/results/latent_prior.json

For each prior (a checkpoint name or folder) and style: ``--n-nottingham`` / ``--n-classical``
pieces of 16 bars are drawn, decoded by the VAE and written as MIDI (what the app writes);
they are measured against the style's test split (set similarity, ``shared/MUSIC-MEASURES.md``)
and against its real test pieces (the variety band of ``bench/music_quality.py``), and their
4-bar windows against every training piece (best onset F1: a copy scores near 1).
``--infill N``: bars 5-8 of N test pieces of each set are rewritten; see ``infill_fit``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from music_quality import band  # noqa: E402 (issue 12's band, one home)

from pianoplay import paths  # noqa: E402
from pianoplay.data.midi_sets import split_files  # noqa: E402
from pianoplay.music.measures import grid_notes, variety  # noqa: E402
from pianoplay.music.midi_write import write_midi  # noqa: E402
from pianoplay.music.novelty import CopyIndex  # noqa: E402
from pianoplay.music.similarity import histogram_similarity, set_histograms  # noqa: E402

SETS = {"nottingham": "nottingham", "piano-midi-de": "piano-midi-de"}
VARIETY_KEYS = ("held", "silent", "distinct", "notes_per_frame")


def mean_variety(files) -> dict:
    rows = [variety(f) for f in files]
    return {k: float(np.mean([r[k] for r in rows])) for k in VARIETY_KEYS}


class Reference:
    """A data set's test histograms, real variety and training-copy index (built once)."""

    def __init__(self, name: str):
        folder = paths.data_dir() / SETS[name]
        self.test = split_files(folder, "test")
        self.hist = set_histograms(self.test)
        self.real = mean_variety(self.test[:64])
        self._index = None
        self.folder = folder

    @property
    def index(self) -> CopyIndex:
        if self._index is None:
            self._index = CopyIndex([grid_notes(f, 4) for f in split_files(self.folder, "train")])
        return self._index


def write_all(vae, rolls, folder: Path, stem: str) -> list[Path]:
    out = []
    for i, roll in enumerate(rolls):
        path = folder / f"{stem}_{i:02d}.mid"
        write_midi(vae.to_midi(roll), path)
        out.append(path)
    return out


def measure_samples(vae, prior, style: str, ref: Reference, n: int, seed: int,
                    novelty: bool, folder: Path) -> dict:
    t = time.time()
    rolls = prior.sample_pieces(n, style=style, seed=seed)  # as the app samples
    seconds = time.time() - t
    files = write_all(vae, rolls, folder, f"{style}_{seed}")
    sim = histogram_similarity(set_histograms(files), ref.hist)
    var = mean_variety(files)
    row = {"style": style, "n": n, "seed": seed, "similarity": sim["similarity"],
           "similarity_parts": sim, **var, "real": ref.real,
           "band_failed": band(var, ref.real), "seconds": seconds}
    if novelty:
        best = [ref.index.best(grid_notes(f, 4))["f1"] for f in files]
        row["copy_f1_max"] = float(np.max(best))
        row["copy_f1_mean"] = float(np.mean(best))
        row["copies_over_0.9"] = int(np.sum(np.asarray(best) >= 0.9))
    return row


def timings(runs: int, vae_name: str) -> dict:
    """Server-side medians (the app's own actions, in this process, after a warm-up): one
    16-bar sample with audio and picture, performed; bars 13-16 of a 32-bar file infilled;
    bars 81-84 of a piano-midi-de piece of 100 bars or more infilled."""
    import statistics

    from pianoplay.models.registry import Registry
    from pianoplay.ui.actions import Actions

    actions = Actions(Registry())
    tune = next(p for p in split_files(paths.data_dir() / "nottingham", "test")
                if len(actions.registry.load(vae_name).load(p).bar_starts) >= 32)
    piece = next(p for p in split_files(paths.data_dir() / "piano-midi-de", "test")
                 if len(actions.registry.load(vae_name).load(p).bar_starts) >= 100)
    jobs = {
        "sample_16_bars": lambda i: actions.sample(vae_name, 1, 16, 1.0, i, 120, 0,
                                                   style="nottingham"),
        "infill_4_of_32_bars": lambda i: actions.infill(vae_name, str(tune), "13-16", i, 120,
                                                        0, "nottingham"),
        "infill_4_bars_at_bar_81_piano_midi_de": lambda i: actions.infill(
            vae_name, str(piece), "81-84", i, 120, 0, "piano-midi-de"),
    }
    out = {}
    for name, job in jobs.items():
        job(0)
        job(1)  # warm-up: imports, caches, the soundfont
        times = []
        for i in range(runs):
            t = time.perf_counter()
            job(i + 2)
            times.append(time.perf_counter() - t)
        out[name] = {"median_s": statistics.median(times), "times_s": times}
        print(f"{name}: median {statistics.median(times) * 1000:.0f} ms", flush=True)
    out["tune"], out["piece"] = tune.name, piece.name
    return out


def load_prior(name: str, vae):
    from pianoplay.models.latent_prior.trained import TrainedPrior

    folder = Path(name) if Path(name).is_dir() else paths.CHECKPOINTS_DIR / name
    return TrainedPrior.from_checkpoint(folder, via=vae)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--priors", nargs="+", default=["prior-faithful"])
    p.add_argument("--vae", default="vae-faithful")
    p.add_argument("--n-nottingham", type=int, default=64)
    p.add_argument("--n-classical", type=int, default=32)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--no-novelty", action="store_true")
    p.add_argument("--infill", type=int, default=0, help="test pieces per set to infill")
    p.add_argument("--timings", type=int, default=0, help="runs of the server-side timings")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    from pianoplay.models.registry import Registry

    vae = Registry().load(args.vae)
    refs = {name: Reference(name) for name in SETS}
    result = {"command": "python bench/latent_prior.py " + " ".join(argv or sys.argv[1:]),
              "priors": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.priors:
            prior = load_prior(name, vae)
            rows = []
            for style in prior.styles:
                n = args.n_nottingham if style == "nottingham" else args.n_classical
                for seed in args.seeds:
                    row = measure_samples(vae, prior, style, refs[style], n, seed,
                                          not args.no_novelty, Path(tmp))
                    rows.append(row)
                    print(f"{name} {style} seed {seed}: similarity {row['similarity']:.3f} "
                          f"held {row['held']:.2f} silent {row['silent']:.2f} distinct "
                          f"{row['distinct']:.1f} notes/frame {row['notes_per_frame']:.2f} "
                          f"band {'PASS' if not row['band_failed'] else row['band_failed']} "
                          f"copy max {row.get('copy_f1_max', float('nan')):.2f} "
                          f"({row['seconds']:.2f} s)", flush=True)
            entry = {"samples": rows, "objective": prior.model.cfg.objective,
                     "step": prior.config.get("training", {}).get("step")}
            if args.infill:
                from infill_fit import infill_rows  # bench/infill_fit.py

                entry["infill"] = infill_rows(vae, prior, args.infill, Path(tmp))
            result["priors"][name] = entry
    if args.timings:
        result["timings"] = timings(args.timings, args.vae)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    random.seed(0)
    raise SystemExit(main())
