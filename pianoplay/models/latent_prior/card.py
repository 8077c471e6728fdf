"""The model card (README.md) of a latent prior, from its config and the results of
``bench/latent_prior.py`` (``python -m pianoplay.models.latent_prior.card FOLDER RESULTS.json``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _sample_rows(results: dict) -> list[str]:
    rows = ["| prior | objective | steps | style | pieces | set similarity | held | silent | "
            "distinct | notes/frame | band | best 4-bar copy F1 |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, entry in results["priors"].items():
        for r in entry["samples"]:
            band = "PASS" if not r["band_failed"] else "FAIL " + ",".join(r["band_failed"])
            copy = f"{r['copy_f1_max']:.2f}" if "copy_f1_max" in r else "-"
            rows.append(f"| {Path(name).name} | {entry['objective']} | {entry.get('step')} | "
                        f"{r['style']} | {r['n']} | **{r['similarity']:.3f}** | {r['held']:.2f} | "
                        f"{r['silent']:.2f} | {r['distinct']:.1f} | {r['notes_per_frame']:.2f} | "
                        f"{band} | {copy} |")
    return rows


def _infill_rows(results: dict) -> list[str]:
    rows = ["| prior | set | pieces | kept onset F1 (min) | pc overlap (the original's) | "
            "onsets ratio | judge NLL: infill / original written back / original file / "
            "copy bar / no context |",
            "|---|---|---|---|---|---|---|"]
    for name, entry in results["priors"].items():
        for style, part in (entry.get("infill") or {}).items():
            s = part["summary"]
            n = s["nll"]
            rows.append(f"| {Path(name).name} | {style} | {s['pieces']} | "
                        f"{s['kept_f1_in_place']:.3f} ({s['kept_f1_min']:.3f}) | "
                        f"{s['pc_overlap']:.2f} ({s.get('pc_overlap_original', 0):.2f}) | "
                        f"{s['onsets_ratio']:.2f} | **{n['infill']:.2f}** / "
                        f"{n.get('original_grid', float('nan')):.2f} / {n['original']:.2f} / "
                        f"{n['copy']:.2f} / {n['no_context']:.2f} |")
    return rows


def _per_style(value) -> str:
    """``2.0`` or ``{"nottingham": 2.0, ...}`` as words: ``2 (nottingham), 0 (...)``."""
    if isinstance(value, dict):
        return ", ".join(f"{v:g} ({k})" for k, v in value.items())
    return f"{value:g}"


def card(folder: Path, results: dict, notes: str = "") -> str:
    config = json.loads((folder / "config.json").read_text())
    m, t = config["model"], config["training"]
    lines = [
        f"# {config['name']}",
        "",
        "A latent prior over `vae-faithful`'s per-bar codes: it writes new pieces (Sample, in a "
        "style) and new bars inside, after or before a user's file (Infill); the VAE turns its "
        "codes into notes.",
        "",
        f"- **Trained on**: the training splits of {', '.join(m['styles'])} (codes of every "
        f"piece at 12 transpositions, windows of {m['segments']} bars).",
        ("- **What to expect**: 16-bar pieces in the chosen style made of bars of real music, "
         "joined by the model; in Infill your notes stay and only the chosen bars change."
         if m["objective"] == "masked" else
         "- **What to expect**: sparse, fragmentary pieces; a benchmark row beside the masked "
         "prior that vae-faithful uses (see the notes under Details)."),
        "",
        "## Samples (`bench/latent_prior.py`)",
        "",
        *_sample_rows(results),
        "",
    ]
    if any(e.get("infill") for e in results["priors"].values()):
        lines += ["## Infill of bars 5-8 of test pieces", "", *_infill_rows(results), ""]
    if "timings" in results:
        ms = {k: v["median_s"] * 1000 for k, v in results["timings"].items()
              if isinstance(v, dict)}
        long_piece = ms.get("infill_4_bars_at_bar_81_piano_midi_de")
        lines += ["## Speed (server side, this project's 2-core CPU)", "",
                  f"- sample 16 bars with audio and picture: {ms['sample_16_bars']:.0f} ms",
                  f"- infill 4 bars of a 32-bar file: {ms['infill_4_of_32_bars']:.0f} ms",
                  *([f"- infill bars 81-84 of a piano-midi-de piece: {long_piece:.0f} ms"]
                    if long_piece else []),
                  ""]
    lines += [
        "<details><summary>Details</summary>", "",
        f"- objective `{m['objective']}`; transformer {m['n_layers']} layers, d_model "
        f"{m['d_model']}, {m['n_heads']} heads, MLP {m['d_ff']}"
        + (f"; codebook of {m['codebook_size']} bars" if m.get("codebook_size") else "")
        + f"; {t.get('parameters', 0):,} parameters",
        f"- trained {t['step']} steps in {t['elapsed_s'] / 60:.0f} min on {t['torch_threads']} "
        "CPU thread(s)",
        f"- command: `{t['command']}`",
        *([f"- sampling: continuity {_per_style(config['continuity'])} (a bonus per codebook "
           "bar for "
           "each note it continues that its neighbour holds over the bar line, a penalty "
           "for each it holds that nothing sounded)"] if config.get("continuity") else []),
        *([f"- density: {_per_style(config['density'])} (a bonus per standard deviation "
           "of a codebook bar's onsets, when sampling without context)"]
          if config.get("density") else []),
        *(["- register: each sample moved whole (-6..+5 semitones) to a mean pitch drawn "
           "from its style's training pieces ("
           + ", ".join(f"{k} {v['mean_pitch']:.1f} +- {v['std']:.1f}"
                       for k, v in config["registers"].items()) + ")"]
          if config.get("registers") else []),
        *([f"- infill: 32 completions, the 8 that fit the kept bars best ranked by "
           f"{', '.join(f'{v} ({k})' for k, v in config['infill_rankers'].items())}"]
          if config.get("infill_rankers") else []),
        f"- bench: `{results.get('command', '')}`",
        "", notes, "", "</details>", "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    args = argv or sys.argv[1:]
    folder, results = Path(args[0]), json.loads(Path(args[1]).read_text())
    notes = Path(args[2]).read_text() if len(args) > 2 else ""
    (folder / "README.md").write_text(card(folder, results, notes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
