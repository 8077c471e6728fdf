"""``pianoplay sample --checkpoint NAME -n 4 --temperature 0.8 --seed 1 --out DIR``.

New pieces from any checkpoint that serves the app's Sample tab (a VAE's prior, decoded
in one batch, or a language model's sampling), refused in the app's words otherwise;
writes for each a MIDI, a WAV and a PNG piano roll (``sample_1.mid`` ...).
"""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="sample new pieces (a VAE's prior or a language model)")
    p.add_argument("--checkpoint", default="vae-faithful",
                   help="registry name or folder (one the app's Sample tab offers)")
    p.add_argument("-n", type=int, default=4, help="how many pieces (1-64)")
    p.add_argument("--temperature", type=float, default=None,
                   help="softmax temperature (0.05-3; default: the checkpoint's own)")
    p.add_argument("--bars", type=int, default=None,
                   help="bars per piece (default: a VAE's window, 16 for a language model)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--style", default=None,
                   help="the music a latent prior imitates (vae-faithful: nottingham or "
                   "piano-midi-de; default: the first)")
    add_output_args(p)
    p.set_defaults(func=run)


def add_output_args(p) -> None:
    """Rendering and output flags shared by ``sample`` and ``interpolate``
    (checked by :func:`check_common`)."""
    from pianoplay import defaults

    p.add_argument("--tempo", type=float, default=defaults.TEMPO, help="bpm of the written files")
    p.add_argument("--program", type=int, default=defaults.PROGRAM,
                   help="General MIDI program (0 = piano)")
    p.add_argument("--no-audio", action="store_true", help="skip the WAV files")
    p.add_argument("--flat", action="store_true",
                   help="one velocity and no pedal (default: performed by performer-classical)")
    p.add_argument("--device", default=None)
    p.add_argument("--out", type=Path, required=True, help="output folder")


def check_common(args) -> None:
    from pianoplay.errors import PianoplayError

    if args.tempo is not None and not 10 <= args.tempo <= 400:  # None: the file's own
        raise PianoplayError(f"--tempo must be between 10 and 400 bpm, not {args.tempo:g}.")
    if not 0 <= args.program <= 127:
        raise PianoplayError(f"--program must be 0-127, not {args.program}.")
    if args.out.exists() and not args.out.is_dir():
        raise PianoplayError(f"--out {args.out} exists and is not a folder.")


def load_for(args, tab: str):
    """``(info, model)`` of ``--checkpoint`` when it serves ``tab`` (the app's tab of this
    command); else the app's one-sentence refusal."""
    from pianoplay.models.registry import Registry

    registry = Registry(device=args.device)
    info = registry.refuse(args.checkpoint, tab)
    return info, registry.load(args.checkpoint)


def write_outputs(
    trained, roll, stem: Path, args, transpose: int = 0, title: str | None = None
) -> None:
    """stem.mid, stem.wav (unless --no-audio) and stem.png for one roll."""
    from pianoplay.audio.plot import roll_png
    from pianoplay.music.midi_write import write_midi

    moved = {"transpose": transpose} if transpose else {}  # a language model writes in C
    pm = trained.to_midi(roll, tempo=args.tempo, program=args.program, **moved)
    if not args.flat:
        from pianoplay.models.performer import perform

        perform(pm)
    write_midi(pm, stem.with_suffix(".mid"))
    roll_png(roll, stem.with_suffix(".png"), steps_per_bar=trained.steps_per_bar, title=title)
    if not args.no_audio:
        from pianoplay.audio.synth import render, write_wav

        write_wav(stem.with_suffix(".wav"), render(pm))


def check_style(args, info) -> str | None:
    """``--style`` checked against the checkpoint's styles (the app's rule and words)."""
    from pianoplay.errors import PianoplayError
    from pianoplay.models.registry import Registry

    registry = Registry()
    if args.style and not registry.styles(info.path):
        raise PianoplayError(f"{info.name} has no styles; leave --style out.")
    return registry.check_style(info.path, args.style)


def run(args) -> int:
    from pianoplay.errors import PianoplayError

    if not 1 <= args.n <= 64:
        raise PianoplayError(f"-n must be between 1 and 64, not {args.n}.")
    if args.temperature is not None and not 0.05 <= args.temperature <= 3.0:
        raise PianoplayError(f"--temperature must be between 0.05 and 3, not {args.temperature:g}.")
    if args.bars is not None and not 1 <= args.bars <= 256:
        raise PianoplayError(f"--bars must be 1-256, not {args.bars}.")
    check_common(args)
    info, trained = load_for(args, "sample")
    temperature = info.temperature if args.temperature is None else args.temperature
    style = check_style(args, info)
    if style is not None:  # a latent prior (vae-faithful's) writes the codes
        from pianoplay.models.registry import Registry

        registry = Registry(device=args.device)
        trained = registry.load(registry.sampler(args.checkpoint))
        steps = args.bars * trained.steps_per_bar if args.bars else None
        if args.bars is not None and args.bars > trained.n_steps // trained.steps_per_bar:
            raise PianoplayError(f"--bars {args.bars}: {args.checkpoint} writes at most "
                                 f"{trained.n_steps // trained.steps_per_bar}.")
        rolls = trained.sample_pieces(args.n, style=style, seed=args.seed, steps=steps,
                                      temperature=args.temperature or 1.0)
    elif info.strategies:  # a language model: its sampling strategy
        steps = (args.bars or 16) * trained.steps_per_bar
        rolls = trained.generate(n=args.n, steps=steps, strategy="sample",
                                 temperature=temperature, seed=args.seed)
    else:
        most = trained.n_steps // trained.steps_per_bar
        if args.bars is not None and args.bars > most:
            raise PianoplayError(f"--bars {args.bars}: {args.checkpoint} writes at most {most}.")
        steps = args.bars * trained.steps_per_bar if args.bars else None
        rolls = trained.sample(args.n, temperature=temperature, seed=args.seed, steps=steps)
    args.out.mkdir(parents=True, exist_ok=True)
    for i, roll in enumerate(rolls, 1):
        write_outputs(trained, roll, args.out / f"sample_{i}", args, title=f"sample {i}")
        print(f"wrote {args.out / f'sample_{i}'}.mid/.png" + ("" if args.no_audio else "/.wav"))
    return 0
