"""``pianoplay train performer --out DIR [--config JSON] [--resume]`` (torch-free until run)."""

from __future__ import annotations

import json
from pathlib import Path


def add_train_parser(families) -> None:
    p = families.add_parser(
        "performer", help="a performer: velocities and sustain pedal from piano-midi-de")
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p) -> None:
    p.add_argument("--out", type=Path, required=True, help="checkpoint folder to write")
    p.add_argument("--config", default="{}",
                   help="JSON object or file of PerformerTrainConfig keys (a checkpoint's "
                   "training.config), e.g. '{\"max_minutes\": 25, \"model\": {\"hidden\": 64}}'")
    p.add_argument("--cache", default="runs/performer",
                   help="folder of the npz caches of the splits; \"\" for none")
    p.add_argument("--resume", action="store_true", help="go on from OUT/resume/")


def run(args) -> int:
    import shlex

    from pianoplay.errors import PianoplayError
    from pianoplay.models.performer.train import PerformerTrainConfig, train

    text = Path(args.config).read_text() if Path(args.config).is_file() else args.config
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise PianoplayError(f"--config is neither a file nor a JSON object ({err}).") from None
    cfg = PerformerTrainConfig.from_dict(raw)
    words = ["--out", str(args.out), "--config", args.config, "--cache", args.cache]
    command = "pianoplay train performer " + shlex.join(words + ["--resume"] * args.resume)
    config = train(cfg, args.out, args.resume, args.cache, command)
    print(json.dumps(config["training"], default=str))
    return 0
