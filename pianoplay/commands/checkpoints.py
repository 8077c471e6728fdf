"""``pianoplay checkpoints``: list the registry."""

from __future__ import annotations

import json


def add_parser(sub) -> None:
    p = sub.add_parser("checkpoints", help="list the shipped checkpoints and their metrics")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    from pianoplay.models.registry import Registry
    from pianoplay.ui.model_card import headline_numbers

    infos = Registry(device="cpu").list()
    if args.json:
        print(json.dumps([{"name": i.name, "family": i.family, "data": i.data,
                           "representation": i.representation, "metrics": i.metrics}
                          for i in infos]))
        return 0
    if not infos:
        print("no checkpoints found")
    for info in infos:
        # nested metrics (a VAE's {"test": {...}}) as dotted keys, the headline ones
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in headline_numbers(info.metrics))
        print(f"{info.name:28s} {info.family:11s} {info.data:24s} {metrics}")
    return 0
