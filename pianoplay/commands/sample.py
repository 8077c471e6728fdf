"""``pianoplay sample --checkpoint NAME -n 4 --temperature 0.8 --seed 1 --out DIR``.

Draws z ~ N(0, I) and decodes all pieces in one batch; writes for each a MIDI,
a WAV and a PNG piano roll (``sample_1.mid`` ...).
"""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="sample new pieces from a VAE's prior")
    p.add_argument("--checkpoint", default="vae-nottingham", help="registry name or folder (a VAE)")
    p.add_argument("-n", type=int, default=4, help="how many pieces (1-64)")
    p.add_argument("--temperature", type=float, default=1.0, help="softmax temperature (0.05-3)")
    p.add_argument("--seed", type=int, default=None)
    add_output_args(p)
    p.set_defaults(func=run)


def add_output_args(p) -> None:
    """Rendering and output flags shared by ``sample`` and ``interpolate``
    (checked by :func:`check_common`)."""
    p.add_argument("--tempo", type=float, default=120.0, help="bpm of the written files")
    p.add_argument("--program", type=int, default=0, help="General MIDI program (0 = piano)")
    p.add_argument("--no-audio", action="store_true", help="skip the WAV files")
    p.add_argument("--device", default=None)
    p.add_argument("--out", type=Path, required=True, help="output folder")


def check_common(args) -> None:
    from pianoplay.errors import PianoplayError

    if not 10 <= args.tempo <= 400:
        raise PianoplayError(f"--tempo must be between 10 and 400 bpm, not {args.tempo:g}.")
    if not 0 <= args.program <= 127:
        raise PianoplayError(f"--program must be 0-127, not {args.program}.")
    if args.out.exists() and not args.out.is_dir():
        raise PianoplayError(f"--out {args.out} exists and is not a folder.")


def load_vae(args):
    from pianoplay.errors import CheckpointError
    from pianoplay.models.registry import Registry

    trained = Registry(device=args.device).load(args.checkpoint)
    if trained.config.get("family") != "vae":
        raise CheckpointError(f"--checkpoint {args.checkpoint} is a {trained.config['family']} "
                              "model; this command needs a VAE.")
    return trained


def write_outputs(
    trained, roll, stem: Path, args, transpose: int = 0, title: str | None = None
) -> None:
    """stem.mid, stem.wav (unless --no-audio) and stem.png for one roll."""
    from pianoplay.audio.plot import roll_png
    from pianoplay.music.midi_write import write_midi

    pm = trained.to_midi(roll, tempo=args.tempo, program=args.program, transpose=transpose)
    write_midi(pm, stem.with_suffix(".mid"))
    roll_png(roll, stem.with_suffix(".png"), steps_per_bar=trained.steps_per_bar, title=title)
    if not args.no_audio:
        from pianoplay.audio.synth import render, write_wav

        write_wav(stem.with_suffix(".wav"), render(pm))


def run(args) -> int:
    from pianoplay.errors import PianoplayError

    if not 1 <= args.n <= 64:
        raise PianoplayError(f"-n must be between 1 and 64, not {args.n}.")
    if not 0.05 <= args.temperature <= 3.0:
        raise PianoplayError(f"--temperature must be between 0.05 and 3, not {args.temperature:g}.")
    check_common(args)
    trained = load_vae(args)
    rolls = trained.sample(args.n, temperature=args.temperature, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    for i, roll in enumerate(rolls, 1):
        write_outputs(trained, roll, args.out / f"sample_{i}", args, title=f"sample {i}")
        print(f"wrote {args.out / f'sample_{i}'}.mid/.png" + ("" if args.no_audio else "/.wav"))
    return 0
