"""``pianoplay render IN.mid OUT.wav [--soundfont SF2] [--tempo BPM] [--program N]``."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("render", help="render a MIDI file to WAV with FluidSynth")
    p.add_argument("input", type=Path, metavar="IN.mid")
    p.add_argument("output", type=Path, metavar="OUT.wav")
    p.add_argument("--soundfont", type=Path, default=None, help="General MIDI .sf2 file")
    p.add_argument("--tempo", type=float, default=None, help="play at this tempo (bpm)")
    p.add_argument("--program", type=int, default=None,
                   help="General MIDI program for every instrument (0 = acoustic grand)")
    p.add_argument("--sample-rate", type=int, default=44100)
    p.add_argument("--png", type=Path, default=None, help="also write a piano-roll picture")
    p.set_defaults(func=run)


def run(args) -> int:
    from pianoplay.audio.synth import render, write_wav
    from pianoplay.errors import PianoplayError
    from pianoplay.music.midi import load_midi

    if args.tempo is not None and not 10 <= args.tempo <= 400:
        raise PianoplayError(f"--tempo must be between 10 and 400 bpm, not {args.tempo:g}.")
    if args.program is not None and not 0 <= args.program <= 127:
        raise PianoplayError(f"--program must be 0-127, not {args.program}.")
    if not 8000 <= args.sample_rate <= 192000:
        raise PianoplayError(f"--sample-rate must be 8000-192000 Hz, not {args.sample_rate}.")
    if args.output.suffix.lower() != ".wav":
        raise PianoplayError(f"OUT.wav must end in .wav: {args.output}")
    score = load_midi(args.input)
    # --tempo: the first tempo becomes args.tempo, later changes scale with it
    pm = score.to_pretty_midi(score.tempo / args.tempo if args.tempo else 1.0)
    audio = render(pm, sample_rate=args.sample_rate, soundfont=args.soundfont, program=args.program)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_wav(args.output, audio, args.sample_rate)
    print(f"wrote {args.output} ({len(audio) / args.sample_rate:.1f} s)")
    if args.png:
        from pianoplay.audio.plot import roll_png
        from pianoplay.music.roll import load_roll

        loaded = load_roll(args.input, steps_per_quarter=4, normalize_key=False)
        roll_png(loaded.roll, args.png, steps_per_bar=loaded.steps_per_bar,
                 bar_starts=loaded.bar_starts)
        print(f"wrote {args.png}")
    return 0
