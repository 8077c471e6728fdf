"""The model card (README.md) of a VAE checkpoint, written from its config.json
and, when present, the interpolation benchmark's JSON.

    .venv/bin/python -m pianoplay.models.music_vae.card checkpoints/vae-nottingham \
        [--notes NOTES.md]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pianoplay.models.music_vae.model import VAEConfig

PUBLISHED = [
    ("DMM (Krishnan et al. 2017)", "2.96 bound / 2.77 estimate"),
    ("SRNN (Fraccaro et al. 2016)", "2.94 bound"),
    ("STORN (Bayer & Osendorfer 2014)", "2.85 bound"),
]


def fmt(x) -> str:
    return f"{x:.4f}" if isinstance(x, float) else str(x)


def write_card(folder: Path, notes: str = "", interp: dict | None = None) -> Path:
    config = json.loads((folder / "config.json").read_text())
    m, t, d, mc = config.get("metrics", {}), config["training"], config["data"], config["model"]
    test, valid = m.get("test", {}), m.get("valid", {})
    lines = [
        f"# {config['name']}",
        "",
        "LSTM-VAE (MusicVAE-style) over 16-bar windows (128 eighth-note frames) of Nottingham folk "
        "tunes, key-normalised to C. Bidirectional LSTM encoder -> diagonal Gaussian posterior "
        f"(latent {mc['latent_dim']}); LSTM decoder ({mc['dec_hidden']} units) initialised from z "
        "and fed z at every step"
        + (
            ", below a conductor LSTM that emits one embedding per "
            "bar and re-initialises the decoder each bar"
            if VAEConfig.from_dict(mc).decoder == "conductor"
            else " (flat: no conductor)"
        )
        + ". Each frame is one token of a chord vocabulary "
        f"({mc['n_out']} classes incl. UNK); UNK is spread over every out-of-vocabulary frame by "
        + (
            "the vocabulary's per-key Bernoulli"
            if not mc.get("unk_mix")
            else f"a mixture ({mc['unk_mix']}) of a context-dependent 88-key Bernoulli head "
            "and the "
            "vocabulary's per-key Bernoulli"
        )
        + " renormalised to those frames, so likelihoods "
        "are exact"
        + (
            f"; training zeroes each previous-frame input with probability "
            f"{mc['word_dropout']} (word dropout) so the decoder relies on z"
            if mc.get("word_dropout")
            else ""
        )
        + ".",
        "",
        "## Test metrics (Nottingham.mat test split)",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    for key in (
        "elbo_nll_per_frame",
        "is_nll_per_frame",
        "recon_nll_per_frame",
        "kl_per_frame",
        "recon_acc_teacher_forced",
        "recon_acc_sampled",
        "scored_frames",
        "windows",
        "recon_windows",
        "is_samples",
    ):
        if key in test:
            lines.append(f"| `{key}` | {fmt(test[key])} |")
    if m.get("valid_final"):
        lines.append(
            f"| valid `elbo_nll_per_frame` (same protocol) | "
            f"{fmt(m['valid_final']['elbo_nll_per_frame'])} |"
        )
    if valid:
        lines.append(
            f"| valid `elbo_nll_per_frame` logged at the saved epoch | "
            f"{fmt(valid.get('elbo_nll_per_frame'))} |"
        )
    lines += (
        [
            "",
            f"Protocol: {test.get('protocol', '')}",
            "",
            "Published bounds/estimates on the same test set (nats/frame): "
            + "; ".join(f"{n} {v}" for n, v in PUBLISHED)
            + ".",
            "",
            "Reproduce:",
            "",
            "```",
            f"{t['command']}",
            f".venv/bin/pianoplay evaluate --checkpoint {config['name']} --data "
            f"../shared/data/benchmark/Nottingham.mat --split test --json --is-samples 16",
            "```",
            "",
            "## Training",
            "",
            f"- data: `{d['path']}`, split `{d['split']}` "
            f"({d['pieces']} pieces, {d['frames']} frames); "
            f"windows of at most {d['window_frames']} frames, random-phase tiling each epoch "
            "(so short tails like the test protocol's are in-distribution)",
            f"- saved epoch {t['best_epoch']} (best validation ELBO), steps {t['step']}, "
            f"{t['elapsed_s'] / 60:.1f} min wall on {t['device']} with {t['torch_threads']} torch "
            "thread(s) (machine shared with another training)",
            f"- training config: `{json.dumps(t['config'])}`",
            "- curves: `loss_curves.png` (reconstruction, KL, negative ELBO; train and valid), "
            "`history.json`",
        ]
        + ([f"- note: {t['note']}"] if t.get("note") else [])
        + [""]
    )
    if interp:
        lines += [
            "## Interpolation quality (MusicVAE's experiment)",
            "",
            f"{interp['pairs']} random pairs of full 128-frame test windows; sequence model: "
            f"{interp['sequence_model']}; `interpolation_quality.png`. Real windows cost "
            f"{interp['endpoints_real_nll']:.3f} nats/frame. Latent points are decoded "
            f"{interp.get('decoding', 'greedy')}; data-space points take each cell from B with "
            "probability alpha.",
            "",
            "| alpha | latent: Hamming to A | latent: NLL | data: Hamming to A | data: NLL |",
            "|---|---|---|---|---|",
        ]
        for i, a in enumerate(interp["alphas"]):
            lines.append(
                f"| {a:.1f} | {interp['latent']['hamming'][i]:.3f} | "
                f"{interp['latent']['nll'][i]:.3f} | {interp['data']['hamming'][i]:.3f} | "
                f"{interp['data']['nll'][i]:.3f} |"
            )
        lines += [
            "",
            f"Hump (max interior NLL minus mean of the endpoints): latent "
            f"{interp['latent_hump']:.3f}, data {interp['data_hump']:.3f} nats/frame.",
            "",
            "Reproduce: `.venv/bin/python bench/interpolation_quality.py --checkpoint "
            f"{config['name']} --pairs {interp['pairs']}`",
            "",
        ]
    if notes:
        lines += [notes.strip(), ""]
    lines += [
        "## Files",
        "",
        "- `config.json`: architecture, representation, data, training command and config, metrics",
        "- `model.safetensors`: weights (and the vocabulary's frame matrix as a buffer)",
        "- `vocab.json`: chord vocabulary (`pianoplay.music.vocab.ChordVocab`)",
        "- `latent.json`: latent axes for sliders: principal directions of training posterior "
        "means (with std), attribute vectors (note density, mean pitch, polyphony, rhythmic "
        "activity: top minus bottom quartile mean), 2-D map of training encodings",
        "- `loss_curves.png`, `history.json`, `interpolation_quality.png`",
        "",
    ]
    path = folder / "README.md"
    path.write_text("\n".join(lines))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--notes", type=Path, default=None, help="markdown appended to the card")
    ap.add_argument(
        "--interp",
        type=Path,
        default=None,
        help="default: bench/results/interpolation_quality_<folder name>.json",
    )
    args = ap.parse_args()
    ipath = args.interp or Path(f"bench/results/interpolation_quality_{args.folder.name}.json")
    interp = json.loads(ipath.read_text()) if ipath.is_file() else None
    if interp and interp.get("checkpoint") not in (args.folder.name, str(args.folder)):
        interp = None
    notes = args.notes.read_text() if args.notes else ""
    print(write_card(args.folder, notes, interp))


if __name__ == "__main__":
    main()
