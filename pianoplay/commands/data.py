"""``pianoplay data download nottingham|piano-midi-de [--dest DIR]``."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("data", help="download the MIDI data sets")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    d = actions.add_parser("download", help="fetch a data set from its public source")
    d.add_argument("name", choices=["nottingham", "piano-midi-de"])
    d.add_argument("--dest", default=None,
                   help="parent folder (default: the data folder if writable, "
                        "else ~/.cache/pianoplay/data)")
    d.add_argument("--timeout", type=float, default=30.0, help="network timeout in seconds")
    d.set_defaults(func=run_download)


def run_download(args) -> int:
    from pianoplay.data.download import download
    from pianoplay.errors import PianoplayError

    if not args.timeout > 0:
        raise PianoplayError(f"--timeout must be positive, not {args.timeout:g}.")
    folder = download(args.name, args.dest, timeout=args.timeout)
    print(f"{args.name} is in {folder}")
    return 0
