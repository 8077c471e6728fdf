"""The flags of ``pianoplay train vae-segment``, checked, then
:func:`~pianoplay.models.segment_vae.train.train` (or, with ``--finish-only``, the latent
axes of an existing checkpoint). Torch-free at import: the CLI imports this to register
the flags.

    .venv/bin/python -m pianoplay.models.segment_vae.train_cli --out DIR [--config JSON]
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from pianoplay.config_io import ConfigError
from pianoplay.models.segment_vae.train import SegmentTrainConfig, finish, train
from pianoplay.training.options import read_json_arg


def add_train_parser(families) -> None:
    p = families.add_parser(
        "vae-segment",
        help="the faithful segment VAE on MIDI data sets (one z per 2 bars of sixteenths)",
    )
    add_arguments(p)
    p.set_defaults(func=run)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="pianoplay train vae-segment")
    add_arguments(p)
    return run(p.parse_args(argv))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, help="checkpoint folder to write")
    p.add_argument(
        "--config",
        default=None,
        help='JSON file or string: {"model": {...SegmentVAEConfig}, '
        '"train": {...SegmentTrainConfig}}',
    )
    p.add_argument("--max-minutes", type=float, default=None, help="wall-clock budget")
    p.add_argument("--resume", action="store_true", help="continue from OUT/resume/")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: CUDA when present)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument(
        "--finish-only",
        action="store_true",
        help="skip training: fit the latent axes of the checkpoint in OUT",
    )


def run(args) -> int:
    from pianoplay.device import pick_device  # deferred: imports torch

    raw = read_json_arg(args.config)
    unknown = sorted(set(raw) - {"model", "train"})
    if unknown:
        raise ConfigError(
            f"--config: unknown section(s) {', '.join(map(repr, unknown))}; "
            "expected 'model' and 'train'."
        )
    train_over = dict(raw.get("train", {}))
    if args.max_minutes is not None:
        train_over["max_minutes"] = args.max_minutes
    command = "pianoplay train vae-segment " + " ".join(shlex.quote(a) for a in sys.argv[3:])
    if args.finish_only:
        finish(
            args.out, pick_device(args.device), SegmentTrainConfig.from_dict(train_over), args.quiet
        )
        return 0
    train(
        args.out,
        raw.get("model", {}),
        train_over,
        pick_device(args.device),
        resume=args.resume,
        command=command,
        quiet=args.quiet,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
