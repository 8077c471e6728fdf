"""Does an infill belong to its piece? (issue 18; used by ``bench/latent_prior.py --infill``)

For test pieces of each set with at least 12 bars, bars 5-8 are rewritten through the
app's path (``pianoplay.models.latent_prior.infill``) and written as MIDI. Measured:
- kept: onset F1 in place (no offset or transposition search, one step of tolerance) of
  the output against the input outside bars 5-8;
- pitch-class overlap of the new bars with the kept bars, onsets per bar of the new bars
  over the kept bars' mean, silent new bars;
- an independent judge's NLL (a chord-LSTM that made none of it: chord-lstm-nottingham
  for Nottingham, chord-lstm-classical-frames for piano-midi-de) per eighth frame of bars
  4-9 (the new bars and one on each side) for the infill, the original (the file, and the
  file as the app writes it back unchanged: the kept bars are that), the bar before
  the gap copied into it, and prior samples drawn without the context spliced in.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pianoplay import paths
from pianoplay.data.midi_sets import split_files
from pianoplay.models.latent_prior.infill import infill, parse_bars, splice
from pianoplay.music.measures import grid_notes, onset_f1_in_place
from pianoplay.music.midi_write import write_midi
from pianoplay.music.roll import load_roll

JUDGES = {"nottingham": "chord-lstm-nottingham", "piano-midi-de": "chord-lstm-classical-frames"}
BARS = "5-8"


def pc_hist(notes: np.ndarray) -> np.ndarray:
    h = np.zeros(12)
    np.add.at(h, notes[:, 0] % 12, np.maximum(notes[:, 2] - notes[:, 1], 1))
    return h / max(h.sum(), 1e-9)


def judge_nll(judge, midi: Path, lo8: int, hi8: int) -> float:
    """Mean NLL per eighth frame of frames [lo8, hi8) of a file (its key moved to C)."""
    roll = load_roll(midi, steps_per_quarter=2, normalize_key=True).roll
    scores = judge.log_prob([roll])[0]
    return float(np.mean(scores[max(lo8, 1):hi8]))


def fit_row(vae, prior, judge, style: str, path: Path, folder: Path, seed: int,
            ranker=None) -> dict | None:
    loaded = vae.load(path)
    starts = list(loaded.bar_starts)
    if len(starts) < 12:
        return None
    span = parse_bars(BARS, len(starts))
    result = infill(vae, prior, loaded, span, style=style, seed=seed, ranker=ranker)
    a, b = result.new_steps
    files = {}
    files["infill"] = folder / f"{path.stem}_infill.mid"
    write_midi(vae.to_midi(result.roll, source=loaded), files["infill"])
    files["original"] = Path(path)
    # the original as the app writes it back unchanged (its sixteenth grid, one track): the
    # notes the infill keeps; the file itself differs on the judge's eighth grid (triplets
    # quantised twice, same-pitch notes of two tracks merged), in the kept bars too
    files["original_grid"] = folder / f"{path.stem}_grid.mid"
    write_midi(vae.to_midi(loaded.roll, source=loaded), files["original_grid"])
    # baseline 1: the bar before the gap copied into every bar of the gap
    copy = loaded.roll.copy()
    prev = loaded.roll[starts[span.first - 1]:starts[span.first]]
    for k in range(span.first, span.last):
        lo, hi = starts[k], starts[k + 1] if k + 1 < len(starts) else len(copy)
        n = min(hi - lo, len(prev))
        copy[lo:lo + n] = prev[:n]
        copy[lo + n:hi] = 0
    files["copy"] = folder / f"{path.stem}_copy.mid"
    write_midi(vae.to_midi(copy, source=loaded), files["copy"])
    # baseline 2: prior samples without the context, spliced into the gap
    S = -(-len(loaded.roll) // vae.segment_steps)
    free = vae.decode(prior.sample(1, style=style, seed=seed, segments=S))[0]
    padded = np.zeros_like(free)
    padded[: len(loaded.roll)] = loaded.roll
    files["no_context"] = folder / f"{path.stem}_free.mid"
    write_midi(vae.to_midi(splice(padded, free, a, b)[: len(loaded.roll)], source=loaded),
               files["no_context"])
    # measures on the sixteenth grid of the written files
    out_notes, ref_notes = grid_notes(files["infill"], 4), grid_notes(path, 4)
    new = out_notes[(out_notes[:, 1] >= a) & (out_notes[:, 1] < b)]
    kept = out_notes[(out_notes[:, 1] < a) | (out_notes[:, 1] >= b)]
    n_new_bars = span.last - span.first
    kept_bars = len(starts) - n_new_bars
    bar_onsets = [len(new[(new[:, 1] >= starts[k]) & (new[:, 1] < (starts[k + 1] if k + 1 <
                                                                   len(starts) else b))])
                  for k in range(span.first, span.last)]
    ends = starts[1:] + [10**9]
    real_silent_bars = sum(
        1 for lo, hi in zip(starts, ends)
        if not ((ref_notes[:, 1] >= lo) & (ref_notes[:, 1] < hi)).any())
    lo8 = starts[span.first - 1] // 2
    hi8 = (starts[span.last + 1] if span.last + 1 < len(starts) else len(loaded.roll)) // 2
    nll = {k: judge_nll(judge, f, lo8, hi8) for k, f in files.items()}
    return {
        "piece": path.name, "bars": len(starts), "style": style,
        "kept_f1_in_place": onset_f1_in_place(out_notes, ref_notes, a, b),
        "pc_overlap": float(np.minimum(pc_hist(new), pc_hist(kept)).sum()) if len(new) else 0.0,
        "onsets_ratio": float(np.mean(bar_onsets) / max(len(kept) / max(kept_bars, 1), 1e-9)),
        "silent_new_bars": int(sum(1 for c in bar_onsets if c == 0)),
        "piece_has_silent_bars": real_silent_bars > 0,
        "nll": nll,
        "excess_over_original": nll["infill"] - nll["original"],
        "excess_over_original_grid": nll["infill"] - nll["original_grid"],
        "pc_overlap_original": pc_overlap_of(ref_notes, a, b),
    }


def pc_overlap_of(notes: np.ndarray, a: int, b: int) -> float:
    """Pitch-class overlap of the notes starting in steps [a, b) with the others."""
    inside = (notes[:, 1] >= a) & (notes[:, 1] < b)
    if not inside.any():
        return 0.0
    return float(np.minimum(pc_hist(notes[inside]), pc_hist(notes[~inside])).sum())


def infill_rows(vae, prior, n: int, folder: Path) -> dict:
    from pianoplay.models.registry import Registry

    out = {}
    for style in prior.styles:
        registry = Registry()
        judge = registry.load(JUDGES[style])
        ranker = None  # as the app ranks: the prior's own ranker for the style, if any
        if (prior.config.get("infill_rankers") or {}).get(style):
            ranker = registry.load(prior.config["infill_rankers"][style])
        assert prior.config.get("infill_rankers", {}).get(style) != JUDGES[style], "never the judge"
        files = split_files(paths.data_dir() / style, "test")
        rows = []
        for k, path in enumerate(files):
            if len(rows) >= n:
                break
            row = fit_row(vae, prior, judge, style, path, folder, seed=k, ranker=ranker)
            if row is not None:
                rows.append(row)
        summary = {key: float(np.mean([r[key] for r in rows]))
                   for key in ("kept_f1_in_place", "pc_overlap", "pc_overlap_original",
                               "onsets_ratio", "excess_over_original",
                               "excess_over_original_grid")}
        summary["kept_f1_min"] = float(min(r["kept_f1_in_place"] for r in rows))
        summary["nll"] = {k: float(np.mean([r["nll"][k] for r in rows]))
                          for k in rows[0]["nll"]}
        summary["silent_new_bars"] = int(sum(r["silent_new_bars"] for r in rows))
        summary["pieces"] = len(rows)
        print(f"infill {style}: " + ", ".join(
            f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in summary.items()
            if k != "nll") + " | nll " + ", ".join(f"{k} {v:.2f}" for k, v in
                                                   summary["nll"].items()), flush=True)
        out[style] = {"summary": summary, "rows": rows}
    return out
