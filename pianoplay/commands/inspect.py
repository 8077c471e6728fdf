"""``pianoplay inspect IN.mid``: what pianoplay reads in a MIDI file."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("inspect", help="show tracks, key, time signature, bars and windows")
    p.add_argument("midi", help="a .mid file")
    p.add_argument("--steps-per-quarter", type=int, default=2,
                   help="grid resolution (2 = eighth notes, the benchmark; 4 = sixteenths)")
    p.add_argument("--bars", type=int, default=16,
                   help="window length in bars for the extraction summary (default 16)")
    p.set_defaults(func=run)


def run(args) -> int:
    import warnings

    from pianoplay.errors import PianoplayError
    from pianoplay.music.keys import score_key
    from pianoplay.music.midi import load_midi
    from pianoplay.music.roll import load_roll
    from pianoplay.music.windows import extract_windows

    if args.steps_per_quarter <= 0:
        raise PianoplayError(f"--steps-per-quarter must be positive, not {args.steps_per_quarter}.")
    if args.bars <= 0:
        raise PianoplayError(f"--bars must be positive, not {args.bars}.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        score = load_midi(args.midi)
        loaded = load_roll(score, steps_per_quarter=args.steps_per_quarter)
    print(f"{args.midi}: {score.ticks_per_quarter} ticks per quarter, "
          f"{score.duration:.1f} s")
    print("tracks:")
    for i, track in enumerate(score.tracks):
        kind = "drums (ignored)" if track.is_drum else f"program {track.program}"
        print(f"  {i}: {track.name or '(unnamed)'}, {kind}, {len(track.notes)} notes")
    tempos = ", ".join(f"{bpm:.1f}" for _, bpm in score.tempos[:4])
    more = f" (+{len(score.tempos) - 4} changes)" if len(score.tempos) > 4 else ""
    print(f"tempo: {tempos} bpm{more}")
    source = "from key signature" if not loaded.key.estimated else "estimated"
    print(f"key: {loaded.key.name} ({source}); transposed by {loaded.transpose:+d} to C")
    if not loaded.key.estimated and score_key(score, "estimate").tonic != loaded.key.tonic:
        print(f"     (the pitch content suggests {score_key(score, 'estimate').name})")
    num, den = loaded.time_signature
    changes = (
        f" ({len(score.time_signatures) - 1} changes)" if len(score.time_signatures) > 1 else ""
    )
    print(
        f"time signature: {num}/{den}{changes}, {loaded.steps_per_bar} steps per bar "
        f"at {args.steps_per_quarter} steps per quarter"
    )
    print(f"length: {len(loaded.roll)} steps, {len(loaded.bar_starts)} bars")
    n_steps = args.bars * loaded.steps_per_bar
    windows = extract_windows(loaded.roll, n_steps, loaded.bar_starts)
    if windows:
        first = ", ".join(str(w.start_bar + 1) for w in windows[:12])
        more = ", ..." if len(windows) > 12 else ""
        print(f"{args.bars}-bar windows: {len(windows)}, starting at bars {first}{more}")
    else:
        print(f"{args.bars}-bar windows: none (the piece has {len(loaded.bar_starts)} bars)")
    for repair in score.repairs:  # the file is damaged; this is how it was read
        print(f"repaired: {repair}")
    for w in {str(c.message) for c in caught if "non-zero tracks" not in str(c.message)}:
        if not any(repair in w for repair in score.repairs):
            print(f"warning: {w}")
    return 0
