"""``pianoplay personalise``: a personal model from a few of your MIDI files (under a minute
on the CPU), and deleting one.

    pianoplay personalise a.mid b.mid c.mid --name my-style
    pianoplay sample --checkpoint my-style -n 4 --out samples
    pianoplay personalise --delete my-style

Personal models live in ``$PIANOPLAY_PERSONAL`` (default ``~/.cache/pianoplay/personal``;
``--personal-dir`` moves it) and are listed by ``pianoplay checkpoints``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pianoplay.errors import PianoplayError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "personalise",
        help="fit a personal model on 1-20 of your MIDI files (under a minute), or delete one",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("files", nargs="*", type=Path, help="your MIDI files (1-20, 2 MB each)")
    p.add_argument("--name", help="the new model's name (lower case, digits, - and _)")
    p.add_argument("--delete", metavar="NAME", help="delete your personal model NAME")
    p.add_argument("--personal-dir", type=Path,
                   help="folder of personal models (default $PIANOPLAY_PERSONAL or "
                   "~/.cache/pianoplay/personal)")
    p.add_argument("--base", default="prior-faithful", help="the prior to start from")
    p.add_argument("--seconds", type=float, default=None,
                   help="the fit's time budget in seconds (default 50: training stops in "
                   "time to keep it)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default 1)")
    p.add_argument("--quiet", action="store_true", help="print only the new model's name")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.personal_dir is not None:
        os.environ["PIANOPLAY_PERSONAL"] = str(args.personal_dir)  # for anything it loads
    from pianoplay.models.latent_prior.personal import (
        PersonalConfig,
        delete_personal,
        fit_personal,
    )
    from pianoplay.models.registry import Registry

    registry = Registry(device="cpu", personal=args.personal_dir)
    if args.delete is not None:
        if args.files or args.name:
            raise PianoplayError("--delete takes only the name of the model to delete.")
        folder = delete_personal(args.delete, registry)
        print(f"deleted {args.delete} ({folder})")
        return 0
    if not args.name:
        raise PianoplayError("name the new model with --name (e.g. --name my-style).")
    overrides = {"base": args.base}
    if args.seconds is not None:
        overrides["seconds"] = float(args.seconds)
    if args.threads is not None:
        overrides["threads"] = int(args.threads)
    config = PersonalConfig.from_dict({**PersonalConfig().to_dict(), **overrides})
    shown = [-1]

    def progress(fraction: float, what: str) -> None:
        tenth = int(fraction * 10)
        if not args.quiet and tenth > shown[0]:
            shown[0] = tenth
            print(f"{fraction * 100:3.0f}% {what}", flush=True)

    folder = fit_personal(args.files, args.name, registry, config, progress)
    if args.quiet:
        print(args.name)
    else:
        print((folder / "README.md").read_text())
        print(f"saved {folder}; try: pianoplay sample --checkpoint {args.name} --out DIR")
    return 0
