"""``pianoplay train NAME ...``: one sub-subcommand per trained model family.

Each family's declaration (:mod:`pianoplay.models.families`) names its trainer module,
whose ``add_train_parser(subparsers)`` registers its flags and sets ``func``; a module
that trains several families (the LMs) registers each of them once.
"""

from __future__ import annotations

import importlib

from pianoplay.models.families import all_families


def add_parser(sub) -> None:
    parser = sub.add_parser("train", help="train a model (reproduces the shipped checkpoints)")
    families = parser.add_subparsers(dest="family", required=True, metavar="FAMILY")
    trainers = dict.fromkeys(spec.trainer for spec in all_families() if spec.trainer)
    for module in trainers:
        importlib.import_module(module).add_train_parser(families)
