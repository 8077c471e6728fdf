"""``pianoplay`` command line: argparse subcommands, one module each.

Each module in ``pianoplay.commands`` has ``add_parser(subparsers)`` which
registers its subcommand and sets ``func(args) -> int``. Heavy imports
(torch, gradio) happen inside ``func`` so ``pianoplay --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from pianoplay.errors import PianoplayError

COMMANDS = (
    "render", "inspect", "data", "checkpoints", "sample", "interpolate", "infill", "generate",
    "train", "evaluate", "personalise",
)


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line, like every other error of the CLI (exit status 2)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pianoplay", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"pianoplay.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"pianoplay.commands.{name}":
                raise
            continue  # a backend not built yet
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    def show_warning(message, category, filename, lineno, file=None, line=None):
        print(f"pianoplay {args.command}: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Tempo, Key or Time signature change events")
        warnings.showwarning = show_warning  # one line, like errors (e.g. what was repaired)
        return _run(args)


def _run(args) -> int:
    try:
        return int(args.func(args) or 0)
    except PianoplayError as err:
        print(f"pianoplay {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
