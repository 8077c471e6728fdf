"""``pianoplay train FAMILY ...``: one sub-subcommand per model family.

Each family module provides ``add_train_parser(subparsers)`` that registers
its own flags and sets ``func``.
"""

from __future__ import annotations

import importlib

FAMILY_MODULES = ("pianoplay.lm.train", "pianoplay.vae.train")


def add_parser(sub) -> None:
    parser = sub.add_parser("train", help="train a model (reproduces the shipped checkpoints)")
    families = parser.add_subparsers(dest="family", required=True, metavar="FAMILY")
    for name in FAMILY_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if not name.startswith(str(err.name)):
                raise
            continue  # backend not built yet
        module.add_train_parser(families)
