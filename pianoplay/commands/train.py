"""``pianoplay train FAMILY ...``: one sub-subcommand per model family.

Each family module provides ``add_train_parser(subparsers)`` that registers
its own flags and sets ``func``.
"""

from __future__ import annotations

import importlib

FAMILY_MODULES = (
    "pianoplay.models.lm.train",
    "pianoplay.models.vae.train",
    "pianoplay.models.vae.segment_train",
)


def add_parser(sub) -> None:
    parser = sub.add_parser("train", help="train a model (reproduces the shipped checkpoints)")
    families = parser.add_subparsers(dest="family", required=True, metavar="FAMILY")
    for name in FAMILY_MODULES:
        importlib.import_module(name).add_train_parser(families)
