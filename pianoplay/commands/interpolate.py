"""``pianoplay interpolate --checkpoint NAME A.mid B.mid --steps 8 --out DIR``.

Encodes a 16-bar window of each file, decodes ``steps`` points on a path between
their encodings (endpoints included; ``--path bars`` or ``slerp``), and writes each
point as MIDI/WAV/PNG (``step_1`` ...), the whole path as ``path.mid`` /
``path.wav`` (one piece after another) and ``path.png`` (a grid).
"""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    from pianoplay.commands.sample import add_output_args

    p = sub.add_parser("interpolate", help="walk the VAE's latent space between two MIDI files")
    p.add_argument("a", type=Path, metavar="A.mid")
    p.add_argument("b", type=Path, metavar="B.mid")
    p.add_argument(
        "--checkpoint", default="vae-faithful",
        help="registry name or folder (a VAE; default: the app's faithful one)",
    )
    from pianoplay.defaults import INTERPOLATION_STEPS
    from pianoplay.limits import STEPS_RANGE

    p.add_argument(
        "--steps",
        type=int,
        default=INTERPOLATION_STEPS,
        help="points on the path, endpoints included ({}-{}, as in the app)".format(*STEPS_RANGE),
    )
    p.add_argument("--bar-a", type=int, default=None, help="1-based first bar of A's window")
    p.add_argument("--bar-b", type=int, default=None, help="1-based first bar of B's window")
    p.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="decoding temperature (default: the checkpoint's own, 0 = most likely notes for "
        "vae-faithful; a fixed --seed makes sampling repeatable)",
    )
    p.add_argument(
        "--path",
        choices=("bars", "slerp"),
        default=None,
        help="bars: each bar's code switches from A's to B's at a step of its own (vae-faithful's "
        "default); slerp: every code moves together (the only path of a one-code VAE)",
    )
    p.add_argument("--greedy", action="store_true", help="argmax decoding instead of sampling")
    p.add_argument("--seed", type=int, default=None)
    add_output_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from pianoplay.commands.sample import check_common, load_for, write_outputs
    from pianoplay.errors import PianoplayError
    from pianoplay.limits import STEPS_RANGE
    from pianoplay.music.roll import shift_keys

    lo, hi = STEPS_RANGE
    if not lo <= args.steps <= hi:
        raise PianoplayError(f"--steps must be between {lo} and {hi}, not {args.steps}.")
    if args.temperature is not None and not 0.0 <= args.temperature <= 3.0:
        raise PianoplayError(f"--temperature must be between 0 and 3, not {args.temperature:g}.")
    for flag, bar in (("--bar-a", args.bar_a), ("--bar-b", args.bar_b)):
        if bar is not None and bar < 1:
            raise PianoplayError(f"{flag} counts bars from 1, not {bar}.")
    for flag, path in (("A.mid", args.a), ("B.mid", args.b)):
        if not path.is_file():
            raise PianoplayError(f"{flag} {path} does not exist.")
    check_common(args)
    _, trained = load_for(args, "interpolate")
    ends = []
    for path, bar in ((args.a, args.bar_a), (args.b, args.bar_b)):
        try:
            ends.append(trained.encode(path, bar=None if bar is None else bar - 1))
        except PianoplayError as err:
            raise type(err)(f"{path}: {err}") from None
    a, b = ends
    for name, path, e in (("A", args.a, a), ("B", args.b, b)):
        print(f"{name}: bars {e.start_bar + 1}-{e.start_bar + e.n_bars} of {e.total_bars}")
        if e.transpose:
            print(f"transposed {path.name} by {e.transpose:+d} semitones to C for the model")
    print("step 1 is written in A's key, the last step in B's, the steps between in between")
    rolls = trained.interpolate(
        a, b, args.steps, temperature=args.temperature, seed=args.seed, greedy=args.greedy,
        mode=args.path or trained.interpolation_modes[0],
    )
    # As the app: keys move from A's (undoing its move to C) to B's in even semitone steps.
    shifts = np.rint(np.linspace(-a.transpose, -b.transpose, args.steps)).astype(int)
    rolls = [shift_keys(r, int(k)) for r, k in zip(rolls, shifts)]
    args.out.mkdir(parents=True, exist_ok=True)
    alphas = np.linspace(0, 1, args.steps)
    for i, (roll, t) in enumerate(zip(rolls, alphas), 1):
        write_outputs(
            trained, roll, args.out / f"step_{i}", args, title=f"step {i} (alpha {t:.2f})"
        )
    path = np.concatenate(rolls)
    write_outputs(trained, path, args.out / "path", args, title="interpolation path")
    from pianoplay.audio.plot import roll_grid_png

    roll_grid_png(
        rolls,
        args.out / "grid.png",
        titles=[f"alpha {t:.2f}" for t in alphas],
        steps_per_bar=trained.steps_per_bar,
    )
    print(f"wrote {args.steps} steps and the whole path to {args.out}")
    return 0
