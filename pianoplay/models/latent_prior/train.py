"""``pianoplay train latent-prior``: fit a prior over a segment VAE's codes.

    pianoplay train latent-prior --out checkpoints/prior-faithful \
        --config '{"model": {"objective": "diffusion"}, "train": {"max_minutes": 40}}'

What is fitted and how: :mod:`pianoplay.models.latent_prior.fitting`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pianoplay.config_io import ConfigError
from pianoplay.models.latent_prior.options import PriorTrainConfig


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, help="checkpoint folder to write")
    p.add_argument("--config", default="{}",
                   help='JSON (or a file): {"model": {...PriorConfig}, "train": '
                   '{...PriorTrainConfig}}')
    p.add_argument("--resume", action="store_true", help="continue from OUT/resume")


def add_train_parser(families) -> None:
    p = families.add_parser("latent-prior",
                            help="a prior over a segment VAE's per-bar codes (diffusion or flow)")
    add_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    # torch and the data are imported here: `pianoplay train` builds every family's parser
    from pianoplay.models.latent_prior.fitting import train
    from pianoplay.models.latent_prior.model import PriorConfig

    text = Path(args.config).read_text() if Path(args.config).is_file() else args.config
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"--config is not JSON ({err}).") from None
    unknown = set(raw) - {"model", "train"}
    if unknown:
        raise ConfigError(f"--config: unknown keys {sorted(unknown)} (known: model, train).")
    mc = PriorConfig.from_dict(raw.get("model", {}))
    tc = PriorTrainConfig.from_dict(raw.get("train", {}))
    command = "pianoplay train latent-prior " + " ".join(sys.argv[3:])
    start = time.time()
    why = train(args.out, mc, tc, args.resume, command)
    print(f"stopped ({why}) after {(time.time() - start) / 60:.1f} min", flush=True)
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="pianoplay train latent-prior")
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
