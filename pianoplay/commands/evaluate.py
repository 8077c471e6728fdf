"""``pianoplay evaluate --checkpoint NAME --data FILE --split test [--json]``.

Runs the evaluator that the checkpoint's family declares (``FamilySpec.evaluator``,
``evaluate(trained, rolls, **opts) -> dict``), or refuses in one line with the family's
reason (``FamilySpec.no_evaluator``).
"""

from __future__ import annotations

import json
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="measure a checkpoint's NLL / ELBO on a data split")
    p.add_argument("--checkpoint", required=True, help="registry name or checkpoint folder")
    p.add_argument(
        "--data",
        type=Path,
        required=True,
        help="benchmark .mat/.pickle file, or a MIDI data set folder",
    )
    p.add_argument("--split", choices=("train", "valid", "test"), default="test")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: auto)")
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N pieces")
    p.add_argument(
        "--is-samples",
        type=int,
        default=0,
        help="VAE only: importance samples for is_nll_per_frame (0 = skip)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from pianoplay.data.load import load_split
    from pianoplay.errors import PianoplayError
    from pianoplay.models.families import load_object
    from pianoplay.models.registry import Registry

    if args.limit is not None and args.limit < 1:
        raise PianoplayError(f"--limit must be at least 1, not {args.limit}.")
    if args.is_samples < 0:
        raise PianoplayError(f"--is-samples must be 0 or more, not {args.is_samples}.")

    registry = Registry(device=args.device)
    spec = registry.info(args.checkpoint).spec
    if spec.evaluator is None:
        raise PianoplayError(f"{args.checkpoint} is not evaluated here: {spec.no_evaluator}")
    trained = registry.load(args.checkpoint)
    rolls = load_split(args.data, args.split, trained.config.get("representation", {}))
    if args.limit is not None:
        rolls = rolls[: args.limit]
    metrics = load_object(spec.evaluator)(trained, rolls, is_samples=args.is_samples)
    metrics = {
        "checkpoint": trained.config.get("name", args.checkpoint),
        "data": str(args.data),
        "split": args.split,
        "pieces": len(rolls),
        **metrics,
    }
    if args.json:
        print(json.dumps(metrics))
    else:
        for key, value in metrics.items():
            print(f"{key:28s} {value}")
    return 0
