"""``pianoplay generate --checkpoint NAME --strategy beam --bars 16 --out DIR``: an LM's music.

Writes ``DIR/<name>-<i>.mid``, ``.wav`` and ``.png`` for each of the ``-n`` outputs.
"""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("generate", help="generate with a chord-LSTM or roll-LSTM checkpoint")
    p.add_argument("--checkpoint", required=True, help="registry name or checkpoint folder")
    from pianoplay import defaults
    from pianoplay.decoding import STRATEGIES

    p.add_argument(
        "--strategy",
        choices=list(STRATEGIES),
        default=defaults.STRATEGY,
        help="; ".join(f"{name}: {what}" for name, what in STRATEGIES.items())
        + f" (default {defaults.STRATEGY}, as in the app)",
    )
    p.add_argument("--temperature", type=float, default=defaults.TEMPERATURE,
                   help="softmax temperature (default: the checkpoint's own)")
    p.add_argument("--top-k", type=int, default=defaults.TOP_K,
                   help=f"top-k: keep the k most likely frames (default {defaults.TOP_K})")
    p.add_argument("--top-p", type=float, default=defaults.TOP_P,
                   help=f"top-p: nucleus mass (default {defaults.TOP_P})")
    p.add_argument("--beam-width", type=int, default=defaults.BEAM_WIDTH)
    p.add_argument("--bars", type=int, default=defaults.BARS,
                   help=f"new bars to generate after the primer (default {defaults.BARS})")
    p.add_argument(
        "--primer", type=Path, default=None, help="MIDI file to continue (kept verbatim)"
    )
    from pianoplay.limits import PRIMER_BARS

    p.add_argument(
        "--primer-bars",
        type=int,
        default=PRIMER_BARS,
        help=f"use the first N bars of the primer (default {PRIMER_BARS}, as in the app)",
    )
    p.add_argument("-n", type=int, default=1, help="outputs (one batch)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument(
        "--tempo", type=float, default=None, help="bpm (default: the primer's, else 120)"
    )
    p.add_argument("--program", type=int, default=0, help="General MIDI program")
    p.add_argument("--no-audio", action="store_true", help="skip the WAV files")
    p.add_argument("--flat", action="store_true",
                   help="one velocity and no pedal (default: performed by performer-classical; "
                   "a primer's notes keep their own velocities and pedal)")
    p.add_argument("--device", default=None, help="cpu, cuda ... (default: auto)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.set_defaults(func=run)


def check_flags(args) -> None:
    """Every flag checked before a model is loaded; the message names the flag."""
    from pianoplay.errors import PianoplayError

    if args.temperature is not None and not args.temperature > 0:
        raise PianoplayError(f"--temperature must be positive, not {args.temperature:g}.")
    if args.strategy == "top-k" and args.top_k < 1:
        raise PianoplayError(f"--strategy top-k needs --top-k of at least 1 (got {args.top_k}).")
    if args.top_k < 0:
        raise PianoplayError(f"--top-k must be 0 or more, not {args.top_k}.")
    if not 0 < args.top_p <= 1:
        raise PianoplayError(f"--top-p must be in (0, 1], not {args.top_p:g}.")
    if args.strategy == "top-p" and args.top_p == 1:
        raise PianoplayError("--strategy top-p needs --top-p below 1 (1 keeps everything).")
    if args.beam_width < 1 or args.beam_width > 64:
        raise PianoplayError(f"--beam-width must be 1-64, not {args.beam_width}.")
    if not 1 <= args.bars <= 256:
        raise PianoplayError(f"--bars must be 1-256, not {args.bars}.")
    if not 1 <= args.n <= 64:
        raise PianoplayError(f"-n must be 1-64, not {args.n}.")
    if args.strategy == "beam" and args.n > args.beam_width:
        raise PianoplayError(
            f"-n {args.n} exceeds --beam-width {args.beam_width}: beam search returns "
            "the n best beams."
        )
    if args.primer is not None and not args.primer.is_file():
        raise PianoplayError(f"--primer {args.primer} does not exist.")
    if args.primer_bars < 1:
        raise PianoplayError(f"--primer-bars must be at least 1, not {args.primer_bars}.")
    if args.tempo is not None and not 10 <= args.tempo <= 400:
        raise PianoplayError(f"--tempo must be between 10 and 400 bpm, not {args.tempo:g}.")
    if not 0 <= args.program <= 127:
        raise PianoplayError(f"--program must be 0-127, not {args.program}.")
    if args.out.exists() and not args.out.is_dir():
        raise PianoplayError(f"--out {args.out} exists and is not a folder.")


def run(args) -> int:
    check_flags(args)
    from pianoplay.models.registry import Registry
    from pianoplay.music.roll import load_roll, roll_to_midi

    registry = Registry(device=args.device)
    registry.refuse(args.checkpoint, "generate")
    registry.refuse_strategy(args.checkpoint, args.strategy)
    trained = registry.load(args.checkpoint)
    if args.temperature is None:
        args.temperature = registry.info(args.checkpoint).temperature
    rep = trained.config.get("representation", {})
    primer, transpose, tempo, bars = None, 0, 120.0, None
    if args.primer is not None:
        loaded = load_roll(
            args.primer,
            steps_per_quarter=trained.steps_per_quarter,
            normalize_key=rep.get("normalize_key", True),
        )
        starts = list(loaded.bar_starts) + [len(loaded.roll)]
        end = starts[min(args.primer_bars, len(starts) - 1)]
        primer = loaded.roll[: max(end, 1)]
        bars = [s for s in loaded.bar_starts if s < end]  # the roll counts the primer's bars
        transpose, tempo = loaded.transpose, float(loaded.tempo or 120.0)
        if transpose:
            print(
                f"transposed {args.primer.name} ({loaded.key.name}) by {transpose:+d} semitones "
                "to C; output moved back"
            )
    tempo = args.tempo if args.tempo is not None else tempo
    steps = args.bars * trained.steps_per_bar
    rolls = trained.generate(
        n=args.n,
        steps=steps,
        strategy=args.strategy,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        beam_width=args.beam_width,
        primer=primer,
        seed=args.seed,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    from pianoplay.audio.plot import roll_png
    from pianoplay.music.midi_write import write_midi

    name = Path(trained.config.get("name", "lm")).name
    for i, roll in enumerate(rolls):
        stem = args.out / f"{name}-{args.strategy}-{i + 1}"
        pm = roll_to_midi(
            roll,
            steps_per_quarter=trained.steps_per_quarter,
            tempo=tempo,
            program=args.program,
            transpose=-transpose,
        )
        if not args.flat:
            from pianoplay.models.performer import keep_from, perform, source_midi

            perform(pm)
            if primer is not None:  # the primer's notes are the user's: their expression
                keep_from(pm, source_midi(args.primer), len(primer) / trained.steps_per_quarter)
        write_midi(pm, stem.with_suffix(".mid"))
        title = f"{name} {args.strategy}" + (
            f" (primer {args.primer.name})" if primer is not None else ""
        )
        marks = {len(primer): "primer ends"} if primer is not None else None  # as the app
        roll_png(roll, stem.with_suffix(".png"), steps_per_bar=trained.steps_per_bar, title=title,
                 marks=marks, bar_starts=bars)
        written = [".mid", ".png"]
        if not args.no_audio:
            from pianoplay.audio.synth import render, write_wav

            write_wav(stem.with_suffix(".wav"), render(pm, program=args.program))
            written.append(".wav")
        print(f"wrote {stem}{{{','.join(written)}}}")
    return 0
