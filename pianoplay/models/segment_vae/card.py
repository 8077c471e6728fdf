"""The model card (README.md) of a segment-VAE checkpoint, from its config.json and the
benchmark results under ``bench/results/`` (reconstruction, music quality, sliders,
interpolation) when they exist.

    .venv/bin/python -m pianoplay.models.segment_vae.card checkpoints/vae-faithful [--notes F]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RESULTS = Path("bench/results")


def _load(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


def _rows(name: str, path: Path, key: str = "model") -> list[dict]:
    data = _load(path) or []
    return [r for r in data if r.get(key) == name]


def write_card(folder: Path, intro: str, notes: str = "") -> Path:
    from pianoplay.models.segment_vae.model import SegmentVAEConfig

    config = json.loads((folder / "config.json").read_text())
    name, tc = config["name"], config["training"]
    mc = SegmentVAEConfig.from_dict(config["model"]).to_dict()  # defaults filled in
    lines = [f"# {name}", "", intro.strip(), "", "## Architecture", ""]
    lines += [
        f"- segments of {mc['segment_steps']} sixteenth-note frames, one z of {mc['latent_dim']} "
        "dims each; a 16-bar window is cut into segments and each is encoded on its own",
        f"- encoder `{mc['encoder']}`, decoder `{mc['decoder']}` ("
        + (f"two hidden layers of {mc['mlp_hidden']}" if "mlp" in (mc["encoder"], mc["decoder"])
           else f"LSTM: encoder {mc['enc_hidden']} per direction, decoder {mc['dec_hidden']}")
        + ")",
        "- every key of every frame is off / onset / hold (a repeated note stays two notes)",
        f"- prior over the z sequence: an LSTM ({mc['prior_hidden']} units) giving a diagonal "
        "Gaussian for each next z; `sample` draws from it, its temperature scales the deviation",
        f"- representation: `{json.dumps(config['representation'])}`",
        "",
        "## Training",
        "",
        f"- data: {json.dumps(config['data'])}",
        f"- command: `{tc['command']}`",
        f"- {tc['step']} steps, best at {tc['best_step']}, {tc['elapsed_s'] / 60:.1f} min on "
        f"{tc['device']} ({tc['torch_threads']} thread(s))",
        f"- config: `{json.dumps(tc['config'])}`",
        "",
        "Validation at the best step (fixed windows of each valid split; argmax decoding; "
        "onset F1 here is exact-cell, without the one-step tolerance of the benchmark):",
        "",
        "| data | NLL / segment | KL / segment (nats) | cell accuracy | onset F1 |",
        "|---|---|---|---|---|",
    ]
    for key, v in config["metrics"]["valid"].items():
        lines.append(f"| {key.removeprefix('valid_')} | {v['nll_per_segment']:.1f} | "
                     f"{v['kl_per_segment']:.1f} | {v['cell_accuracy']:.4f} | "
                     f"{v['onset_f1_aligned']:.3f} |")
    recon = _rows(name, RESULTS / "reconstruction.json")
    if recon:
        lines += [
            "",
            "## Reconstruction (test splits)",
            "",
            "`.venv/bin/python bench/reconstruction.py`: every consecutive 16-bar window, "
            "posterior mean, deterministic decoding (what the app does at the ends of a path).",
            "",
            "| data | windows | onset F1 (pooled / mean of windows) | frame accuracy | cell F1 |",
            "|---|---|---|---|---|",
        ]
        for r in recon:
            lines.append(
                f"| {r['set']} | {r['windows']} | {r['onset_f1_pooled']:.3f} / "
                f"{r['onset_f1_mean']:.3f} | {r['frame_accuracy']:.3f} | "
                f"{r['cell_f1']:.3f} |"
            )
    quality = _load(RESULTS / "music_quality.json")
    if quality:
        rows = [
            r for r in quality["rows"] if r.get("checkpoint") == name or r.get("kind") == "real"
        ]
        if len(rows) > 2:
            lines += [
                "",
                "## Samples from the prior",
                "",
                f"`{quality['command']}` (32 pieces of 16 bars, first 128 eighth frames):",
                "",
                "| rows | held | silent | distinct | notes/frame | pitch-class overlap |",
                "|---|---|---|---|---|---|",
            ]
            for r in rows:
                lines.append(
                    f"| {r['name']} | {r['held']:.2f} | {r['silent']:.2f} | "
                    f"{r['distinct']:.1f} | {r['notes_per_frame']:.2f} | "
                    f"{r.get('pc_overlap', float('nan')):.2f} |"
                )
    sliders = _load(RESULTS / f"sliders_{name}.json")
    if sliders:
        lines += [
            "",
            "## Attribute sliders",
            "",
            f"`.venv/bin/python bench/sliders.py --checkpoint {name}` (32 encoded Nottingham "
            "test tunes, one slider at a time):",
            "",
            "| slider | -2 | -1 | 0 | +1 | +2 | monotonic | goal |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for k, r in sliders.items():
            lines.append(
                f"| {k} ({r['attribute']}) | "
                + " | ".join(f"{m:.3f}" for m in r["means"])
                + f" | {r['monotonic']} | {r['goal_met']} |"
            )
    interp = _load(RESULTS / f"interpolation_{name}.json")
    if interp:
        lines += [
            "",
            "## Interpolation (MusicVAE's protocol)",
            "",
            f"`.venv/bin/python bench/interpolation_faithful.py --checkpoint {name}` "
            f"({interp['pairs']} pairs of Nottingham test tunes, {interp['steps']} steps, "
            f"judge `{interp['judge']}`):",
            "",
            f"- Hamming distance to A by step: {interp['hamming_to_A_by_step']}; "
            f"monotonic in {100 * interp['monotonic_pairs']:.0f} % of pairs",
            f"- judge NLL by step (nats/frame): {interp['judge_nll_by_step']}",
            f"- interior maximum minus the endpoints' mean: "
            f"{interp['interior_max_minus_endpoints_mean']:.3f} (mean), "
            f"{interp['interior_max_minus_endpoints_median']:.3f} (median); within 0.3 in "
            f"{100 * interp['pairs_within_0.3']:.0f} % of pairs",
        ]
    if notes:
        lines += ["", notes.strip()]
    path = folder / "README.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folder", type=Path)
    p.add_argument("--intro", type=Path, required=True, help="Markdown: what the model is for")
    p.add_argument("--notes", type=Path, default=None, help="Markdown appended at the end")
    args = p.parse_args(argv)
    notes = args.notes.read_text() if args.notes else ""
    print(write_card(args.folder, args.intro.read_text(), notes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
