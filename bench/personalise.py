"""Personal priors (issue 19): fitted on 8 pieces of a style the base prior never learnt as
such, do their samples sound like the style's other pieces, without copying the uploads?

    python bench/personalise.py --chorales /work/runs/chorales --json bench/results/personalise.json

Styles: one piano-midi-de composer (``--composer``: 8 of their pieces uploaded, their
others the reference), the 3/4 waltzes of the Nottingham test split (time signature read
from each file; 8 uploaded, the others the reference), and Bach chorales (``--chorales``: a
folder of MIDI files, e.g. written from music21's corpus by ``bench/write_chorales.py``;
8 uploaded, up to 40 others the reference). For each style and each of ``--uploads``
(1, 2, 4, 8 files), a personal prior is fitted as ``pianoplay personalise`` fits it (wall
time measured, on a machine shared with other jobs) and ``--n`` samples of 16 bars are
measured: set similarity to the reference (``shared/MUSIC-MEASURES.md``), the best onset F1
of any 4-bar window against any upload (``CopyIndex``, +-6 semitones), and the music band
(``bench/music_quality.py``) against the reference's own variety. The base prior's samples
(the style the fit started from) and the uploads themselves (the ceiling) are measured too,
and the uploads as the VAE gives them back (16-bar windows of their codes, decoded: what a
model that writes through the VAE can reach). Fine-tuning alone (no variations):

    python bench/personalise.py --styles composer --uploads 8 \
        --config '{"train_seconds": 40, "strength": 1.0, "copy_f1": 1.01}'
"""

from __future__ import annotations

import argparse
import csv
import faulthandler
import json
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pretty_midi
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from latent_prior import band, mean_variety, write_all  # noqa: E402

from pianoplay import paths  # noqa: E402
from pianoplay.models.latent_prior.personal import (  # noqa: E402
    LIMITS,
    PersonalConfig,
    chunks,
    fit_personal,
)
from pianoplay.models.registry import Registry  # noqa: E402
from pianoplay.music.measures import grid_notes  # noqa: E402
from pianoplay.music.novelty import CopyIndex, repeated_bars  # noqa: E402
from pianoplay.music.roll import shift_keys  # noqa: E402
from pianoplay.music.similarity import set_similarity  # noqa: E402


def composer_files(composer: str) -> tuple[list[Path], list[Path]]:
    folder = paths.data_dir() / "piano-midi-de"
    with (folder / "metadata.csv").open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["composer"] == composer]
    files = sorted(folder / r["midi"] for r in rows)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(files))
    return [files[i] for i in order[:8]], [files[i] for i in order[8:]]


def waltz_files() -> tuple[list[Path], list[Path]]:
    """The 3/4 tunes of the Nottingham test split (8, all waltzes) as uploads; those of the
    valid and train splits as the reference."""
    def in_three(split: str) -> list[Path]:
        out = []
        for f in sorted((paths.data_dir() / "nottingham" / split).glob("*.mid")):
            sig = pretty_midi.PrettyMIDI(str(f)).time_signature_changes
            if sig and (sig[0].numerator, sig[0].denominator) == (3, 4):
                out.append(f)
        return out

    return in_three("test")[:8], in_three("valid") + in_three("train")


def folder_files(folder: Path, n_ref: int = 40) -> tuple[list[Path], list[Path]]:
    files = sorted(Path(folder).glob("*.mid"))
    order = np.random.default_rng(0).permutation(len(files))
    return [files[i] for i in order[:8]], [files[i] for i in order[8:8 + n_ref]]


def copy_index(files: list[Path]) -> CopyIndex:
    return CopyIndex([c for f in files for c in chunks(grid_notes(f, 4))])


def measure(files: list[Path], reference: list[Path], real: dict, index: CopyIndex | None
            ) -> dict:
    sim = set_similarity(files, reference)
    var = mean_variety(files)
    row = {"similarity": sim["similarity"], "similarity_parts": sim, **var,
           "band_failed": band(var, real)}
    if index is not None:
        best = [index.best(grid_notes(f, 4))["f1"] for f in files]
        row["copy_f1_max"] = float(np.max(best))
        row["copy_f1_mean"] = float(np.mean(best))
    row["repeated_bars"] = float(np.mean([repeated_bars(grid_notes(f, 4)) for f in files]))
    return row


def file_codes(prior) -> list[np.ndarray]:
    """Each upload's codes in order: a diffusion personal model's anchors, or a palette's
    bars file by file."""
    if hasattr(prior, "anchors"):
        return prior.anchors
    p = prior.palette
    return [p.bars[p.origin[:, 0] == f] for f in np.unique(p.origin[:, 0])]


def samples_of(prior, vae, n: int, style, seed: int, folder: Path, stem: str) -> list[Path]:
    """``n`` pieces of 16 bars as the app samples them (``sample_pieces``: the base in its
    style's register; a personal model as it is)."""
    return write_all(vae, prior.sample_pieces(n, style=style, seed=seed), folder, stem)


def run_style(name: str, uploads: list[Path], reference: list[Path], registry, args,
              tmp: Path) -> dict:
    base = registry.load(args.base)
    vae = base._need_vae()
    real = mean_variety(reference)
    ceiling = set_similarity(uploads, reference)["similarity"]
    # how close other pieces of the style come to the uploads: their first 16 bars
    index = copy_index(uploads)
    real_copy = [index.best(n[n[:, 1] < 256])["f1"] for n in
                 (grid_notes(f, 4) for f in reference[:32])]
    out = {"uploads": [f.name for f in uploads], "reference": len(reference),
           "ceiling_uploads_vs_reference": ceiling, "real": real,
           "reference_copy_f1_max": float(np.max(real_copy)),
           "reference_copy_f1_mean": float(np.mean(real_copy)),
           "uploads_repeated_bars": float(np.mean([repeated_bars(grid_notes(f, 4))
                                                   for f in uploads])), "fits": {}}
    print(f"{name}: {len(uploads)} uploads, {len(reference)} reference pieces, ceiling "
          f"{ceiling:.3f}, reference pieces' copy F1 against the uploads: max "
          f"{out['reference_copy_f1_max']:.2f}, mean {out['reference_copy_f1_mean']:.2f}",
          flush=True)
    pc = PersonalConfig.from_dict({**PersonalConfig().to_dict(), **json.loads(args.config)})
    for k in args.uploads:
        fit_name = f"bench-{name}-{k}"
        t = time.perf_counter()
        folder = fit_personal(uploads[:k], fit_name, registry, pc)
        wall = time.perf_counter() - t
        prior = registry.load(fit_name)
        info = prior.config["personal"]
        index = copy_index(uploads[:k])
        files = samples_of(prior, vae, args.n, None, args.seed, tmp, fit_name)
        row = measure(files, reference, real, index)
        if k == max(args.uploads):  # the uploads as the VAE gives them back: 16-bar windows
            rng = np.random.default_rng(args.seed)
            anchors = file_codes(prior)
            keys = [vae.representation.load(u, limits=LIMITS).transpose  # each file's key
                    for u in uploads[:k]]
            z, owner = [], []
            for i in range(args.n):
                a = anchors[i % len(anchors)]
                a = np.concatenate([a] * (-(-16 // len(a))))
                start = rng.integers(len(a) - 15)
                z.append(a[start:start + 16])
                owner.append(i % len(anchors))
            for key, write in (("ceiling_through_vae", vae.decode),  # the codes decoded
                               ("ceiling_as_written", prior.rolls_of)):  # as samples are
                rolls = [shift_keys(r, -keys[f]) for r, f in zip(write(np.stack(z)), owner)]
                back = write_all(vae, rolls, tmp, f"back-{name}")
                out[key] = set_similarity(back, reference)["similarity"]
            print(f"  the uploads' 16-bar windows, in their keys, through the VAE: similarity "
                  f"{out['ceiling_through_vae']:.3f}; as the model writes its bars: "
                  f"{out['ceiling_as_written']:.3f}", flush=True)
        if "base" not in out or out["base"]["style"] != info["nearest_style"]:
            bfiles = samples_of(base, vae, args.n, info["nearest_style"], args.seed, tmp,
                                f"base-{name}")
            out["base"] = {"style": info["nearest_style"],
                           **measure(bfiles, reference, real, copy_index(uploads))}
        row |= {"wall_s": round(wall, 1), "steps": info["steps"],
                "strength": info.get("strength"), "max_run": info.get("max_run"),
                "copy_checks": info["copy_checks"],
                "nearest_style": info["nearest_style"], "loss_base": info["loss_base"],
                "loss_after": info["loss_after"],
                "gain": row["similarity"] - out["base"]["similarity"]}
        out["fits"][str(k)] = row
        print(f"  {k} uploads: fit {wall:.1f} s ({info['steps']} steps, from "
              f"{info['nearest_style']}, strength {info.get('strength')}, bars in a row "
              f"{info.get('max_run')}) similarity "
              f"{row['similarity']:.3f} (base "
              f"{out['base']['similarity']:.3f}, gain {row['gain']:+.3f}) copy max "
              f"{row['copy_f1_max']:.2f} repeated bars {row['repeated_bars']:.2f} (uploads "
              f"{out['uploads_repeated_bars']:.2f}) band "
              f"{'PASS' if not row['band_failed'] else row['band_failed']}", flush=True)
        registry.forget(fit_name)
        shutil.rmtree(folder)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", default="prior-bars")
    p.add_argument("--composer", default="Mozart")
    p.add_argument("--chorales", type=Path, help="folder of chorale MIDI files")
    p.add_argument("--styles", nargs="+", default=["composer", "waltzes", "chorales"])
    p.add_argument("--uploads", type=int, nargs="+", default=[8, 4, 2, 1])
    p.add_argument("--n", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--config", default="{}", help="PersonalConfig overrides (JSON)")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    faulthandler.register(signal.SIGUSR1)  # kill -USR1 PID: where it is
    with tempfile.TemporaryDirectory() as tmp:
        registry = Registry(device="cpu", personal=Path(tmp) / "personal")
        result = {"command": "python bench/personalise.py " + " ".join(argv or sys.argv[1:]),
                  "base": args.base, "base_step": registry.info(args.base).config.get(
                      "training", {}).get("step"), "styles": {}}
        for style in args.styles:
            if style == "composer":
                up, ref = composer_files(args.composer)
                label = args.composer.lower()
            elif style == "waltzes":
                up, ref = waltz_files()
                label = "waltzes"
            else:
                if args.chorales is None:
                    continue
                up, ref = folder_files(args.chorales)
                label = "chorales"
            result["styles"][label] = run_style(label, up, ref, registry, args, Path(tmp))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
