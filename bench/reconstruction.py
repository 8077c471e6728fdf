"""Reconstruction benchmark: does a VAE give back the music it is given?

What the app does at the ends of an interpolation path: encode a window with the
posterior mean, decode deterministically. For every consecutive 16-bar window of
the Nottingham test MIDIs and of the piano-midi-de test split (the last, shorter
window included when it has notes), the decoded notes are compared with the
window's notes on a sixteenth-note grid:

- **onset F1**: (step, pitch) onsets; an output onset is a hit when the input has
  the same pitch within one step either side, and the other way round for recall
  (../shared/MUSIC-MEASURES.md; window and key are known here, so no search over
  offsets and transpositions is needed: the number is what that search would find
  or less);
- **frame accuracy**: share of frames whose 88 sounding keys all match;
- **cell F1**: F1 of the sounding (frame, key) cells.

A check through the MIDI files themselves (``--midi-check N``): the decoded window
is written as the app writes it (input key and tempo restored) and scored with
``pianoplay.music.measures.onset_f1`` against the whole uploaded file, best offset and
transposition, for the first window of N files.

    .venv/bin/python bench/reconstruction.py [--models vae-faithful vae-nottingham]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from pianoplay import paths
from pianoplay.data.midi_sets import split_files

SETS = {"nottingham": "nottingham", "piano-midi-de": "piano-midi-de"}


def onset_cells(roll: np.ndarray, spq: int) -> np.ndarray:
    """(T, 88) or (T, 88, 2) roll on a grid of ``spq`` steps per quarter -> (N, 2) int
    (sixteenth step, key) of every note start."""
    from pianoplay.music.roll import roll_to_notes

    notes = roll_to_notes(roll)
    return (
        np.stack([notes[:, 1] * 4 // spq, notes[:, 0]], 1) if len(notes) else np.zeros((0, 2), int)
    )


def sounding(roll: np.ndarray, spq: int, length: int) -> np.ndarray:
    """(length, 88) bool sounding cells on the sixteenth grid."""
    frames = roll[..., 0] > 0 if roll.ndim == 3 else roll > 0
    if spq != 4:
        frames = np.repeat(frames, 4 // spq, axis=0)
    out = np.zeros((length, 88), bool)
    out[: min(length, len(frames))] = frames[:length]
    return out


def tolerant_hits(a: np.ndarray, b: np.ndarray, tol: int = 1) -> int:
    """Onsets of ``a`` (N, 2) with an onset of ``b`` of the same key within ``tol`` steps."""
    if not len(a) or not len(b):
        return 0
    grid = {(int(t), int(k)) for t, k in b}
    return sum(any((t + d, k) in grid for d in range(-tol, tol + 1)) for t, k in a.tolist())


def f1(p_hits, n_pred, r_hits, n_ref) -> float:
    p = p_hits / n_pred if n_pred else (1.0 if not n_ref else 0.0)
    r = r_hits / n_ref if n_ref else 1.0
    return 2 * p * r / (p + r) if p + r else 0.0


def windows16(loaded, n_bars: int = 16):
    """Consecutive ``n_bars``-bar windows (start step, length) from the first bar line."""
    starts = list(loaded.bar_starts) or [0]
    out = []
    for k in range(0, len(starts), n_bars):
        start = starts[k]
        stop = (
            starts[k + n_bars]
            if k + n_bars < len(starts)
            else start + n_bars * loaded.steps_per_bar
        )
        if loaded.roll[start:stop].any():
            out.append((k, start, stop - start))
    return out


def old_model_window(vae, f: Path, bar: int):
    """The eighth-note VAE's reconstruction of the window at ``bar`` (its app decoding:
    temperature 0.8 with fixed noise), or None where it has no full window."""
    from pianoplay.errors import MidiError

    try:  # as an upload: files the app refuses (e.g. tempo under 10 bpm) are skipped
        return vae.decode(vae.encode(str(f), bar=bar).z)[0]
    except MidiError:
        return None


def run_model(name: str, vae, set_name: str, files: list[Path], limit_windows: int | None,
              refine: int = 0) -> dict:
    from pianoplay.data.midi_sets import DATASET_LIMITS
    from pianoplay.music.representation import SIXTEENTHS

    rep16 = SIXTEENTHS
    stats = {
        "windows": 0,
        "onset_f1": [],
        "frame_acc": [],
        "cell_f1": [],
        "p_hits": 0,
        "n_pred": 0,
        "r_hits": 0,
        "n_ref": 0,
    }
    t0 = time.time()
    jobs = []  # (reference 16th roll window, encode input)
    for f in files:
        ref = rep16.load(f, DATASET_LIMITS)  # the truth, on the sixteenth grid with onsets
        for bar, start, length in windows16(ref):
            jobs.append((f, bar, ref.roll[start : start + length]))
    if limit_windows:
        jobs = jobs[:limit_windows]
    spq = vae.steps_per_quarter
    segment = vae.family == "segment-vae"
    batch = []

    def flush():
        if not batch:
            return
        if segment:
            zs = vae.encode_rolls([np.asarray(w, np.uint8) for _, w in batch], refine=refine)
            outs = [vae.decode(z, steps=len(w))[0] for z, (_, w) in zip(zs, batch)]
        else:
            outs = [old_model_window(vae, f, bar) for (f, bar), _ in batch]
        for out, (_, ref) in zip(outs, batch):
            if out is None:  # the old model has no full window there
                stats["skipped"] = stats.get("skipped", 0) + 1
                continue
            L = len(ref)
            a, b = onset_cells(out, spq), onset_cells(ref, 4)
            a, b = a[a[:, 0] < L], b[b[:, 0] < L]
            ph, rh = tolerant_hits(a, b), tolerant_hits(b, a)
            stats["onset_f1"].append(f1(ph, len(a), rh, len(b)))
            for key, v in (("p_hits", ph), ("n_pred", len(a)), ("r_hits", rh), ("n_ref", len(b))):
                stats[key] += v
            so, sr = sounding(out, spq, L), sounding(ref, 4, L)
            stats["frame_acc"].append(float((so == sr).all(1).mean()))
            tp = int((so & sr).sum())
            stats["cell_f1"].append(f1(tp, int(so.sum()), tp, int(sr.sum())))
            stats["windows"] += 1
        batch.clear()

    for f, bar, ref in jobs:
        batch.append(((f, bar), ref))
        if len(batch) >= 64:
            flush()
    flush()
    return {
        "model": name,
        "set": set_name,
        "files": len(files),
        "windows": stats["windows"],
        "encoding": f"posterior mean + {refine} refinement steps" if refine else "posterior mean",
        "onset_f1_mean": float(np.mean(stats["onset_f1"])),
        "onset_f1_pooled": f1(stats["p_hits"], stats["n_pred"], stats["r_hits"], stats["n_ref"]),
        "frame_accuracy": float(np.mean(stats["frame_acc"])),
        "cell_f1": float(np.mean(stats["cell_f1"])),
        "skipped": stats.get("skipped", 0),
        "seconds": round(time.time() - t0, 1),
    }


def midi_check(vae, files: list[Path]) -> list[float]:
    """Protocol F1 through MIDI files: the app's output vs the uploaded file."""
    from pianoplay.music.measures import onset_f1
    from pianoplay.music.midi_write import write_midi

    scores = []
    for f in files:
        enc = vae.encode(str(f), bar=0)
        out = vae.decode(enc.z, steps=len(enc.roll))[0]
        pm = (
            vae.to_midi(out, source=enc)
            if vae.family == "segment-vae"
            else vae.to_midi(out, transpose=-enc.transpose)
        )
        with tempfile.TemporaryDirectory() as tmp:
            out_path = write_midi(pm, Path(tmp) / "out.mid")
            scores.append(float(onset_f1(out_path.read_bytes(), str(f))["f1"]))
    return scores


def main(argv=None) -> int:
    import torch

    from pianoplay.models.registry import Registry

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", nargs="+", default=["vae-faithful", "vae-nottingham"])
    p.add_argument("--sets", nargs="+", default=list(SETS))
    p.add_argument("--limit-windows", type=int, default=None, help="per set, for quick runs")
    p.add_argument("--midi-check", type=int, default=10, help="files checked through MIDI")
    p.add_argument("--json", type=Path, default=Path("bench/results/reconstruction.json"))
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    registry = Registry(device="cpu")
    rows = []
    for name in args.models:
        vae = registry.load(name)
        # The protocol (posterior mean), then what the app does (refined) if it differs.
        variants = [0] + ([vae.refine_steps] if getattr(vae, "refine_steps", 0) else [])
        for set_name in args.sets:
            files = split_files(paths.data_dir() / SETS[set_name], "test")
            for refine in variants:
                row = run_model(name, vae, set_name, files, args.limit_windows, refine)
                last = refine == variants[-1]
                if args.midi_check and last and vae.family == "segment-vae":
                    checks = midi_check(vae, files[: args.midi_check])
                    row["midi_protocol_onset_f1_first_window"] = float(np.mean(checks))
                rows.append(row)
                print(json.dumps(row), flush=True)
    print("\n| model | encoding | data (test) | windows | onset F1 (pooled / mean) "
          "| frame acc. | cell F1 |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['encoding']} | {r['set']} | {r['windows']} | "
            f"{r['onset_f1_pooled']:.3f} / {r['onset_f1_mean']:.3f} | "
            f"{r['frame_accuracy']:.3f} | {r['cell_f1']:.3f} |"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
