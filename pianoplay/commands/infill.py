"""``pianoplay infill FILE --bars 5-8 --out DIR``: the whole piece with only the chosen bars
new (``--bars 17-24`` on a 16-bar piece continues it, ``--bars "intro 4"`` writes an
introduction), through the checkpoint's latent prior, as the app's Infill tab. Writes
``infill.mid``, ``infill.wav`` (unless ``--no-audio``) and ``infill.png`` (new bars marked).
"""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    from pianoplay import defaults

    p = sub.add_parser("infill", help="write new bars inside, after or before your MIDI file")
    p.add_argument("file", type=Path, metavar="FILE.mid")
    p.add_argument("--bars", required=True,
                   help='bars to write: "5-8", "17-24" (past the end: continue), "intro 4"')
    p.add_argument("--checkpoint", default="vae-faithful",
                   help="registry name (one the app's Infill tab offers)")
    p.add_argument("--style", default=None, help="the music the new bars imitate "
                   "(vae-faithful: nottingham or piano-midi-de; default: the first)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--tempo", type=float, default=None, help="bpm (default: the file's own)")
    p.add_argument("--program", type=int, default=defaults.PROGRAM,
                   help="General MIDI program (0 = piano)")
    p.add_argument("--flat", action="store_true",
                   help="one velocity and no pedal (default: performed)")
    p.add_argument("--no-audio", action="store_true", help="skip the WAV file")
    p.add_argument("--device", default=None)
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.set_defaults(func=run)


def run(args) -> int:
    from pianoplay.audio.plot import roll_png
    from pianoplay.commands.sample import check_common, check_style
    from pianoplay.models.latent_prior.infill import infill, infill_ranker, parse_bars
    from pianoplay.models.registry import Registry
    from pianoplay.music.midi_write import write_midi

    check_common(args)
    registry = Registry(device=args.device)
    info = registry.refuse(args.checkpoint, "infill")
    style = check_style(args, info)
    prior = registry.load(registry.sampler(args.checkpoint))
    vae = prior.vae
    loaded = vae.load(args.file)
    span = parse_bars(args.bars, len(loaded.bar_starts))
    ranker = infill_ranker(registry, registry.sampler(args.checkpoint), style)
    result = infill(vae, prior, loaded, span, style=style, seed=args.seed, ranker=ranker)
    tempo = args.tempo or loaded.tempo
    pm = vae.to_midi(result.roll, tempo=tempo, program=args.program, source=loaded)
    if not args.flat:
        from pianoplay.models.performer import keep_from, perform

        perform(pm)
        if not span.intro:  # the user's notes before the new bars keep their expression
            import pretty_midi

            a, b = result.new_steps  # before and after the new bars
            keep_from(pm, pretty_midi.PrettyMIDI(str(args.file)), a / vae.steps_per_quarter,
                      resume_quarters=b / vae.steps_per_quarter)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / "infill"
    write_midi(pm, stem.with_suffix(".mid"))
    roll_png(result.roll, stem.with_suffix(".png"), steps_per_bar=result.steps_per_bar,
             title=f"{span.describe()} new", marks=result.marks, bar_starts=result.bar_starts)
    if not args.no_audio:
        from pianoplay.audio.synth import render, write_wav

        write_wav(stem.with_suffix(".wav"), render(pm))
    lo, hi = result.context_bars
    print(f"wrote {stem}.mid/.png" + ("" if args.no_audio else "/.wav")
          + f": {span.describe()} new ({style}); the model saw bars {lo}-{hi}")
    return 0
