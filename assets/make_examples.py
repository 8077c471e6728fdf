"""Write the bundled example MIDI files (``assets/*.mid``).

Four traditional, public-domain tunes entered by hand: a melody track and a
block-chord track, 16 bars each, so they fill one 16-bar VAE window. Run
``python assets/make_examples.py`` to regenerate them; the output is
deterministic.

Notes are ``(pitch, beats)`` with ``None`` for a rest; chords are
``(name, beats)``. One beat is a quarter note.
"""

from __future__ import annotations

from pathlib import Path

import pretty_midi

HERE = Path(__file__).resolve().parent

# Triads voiced below the melodies (MIDI pitches).
CHORDS = {
    "C": (48, 52, 55),
    "F": (53, 57, 60),
    "G": (55, 59, 62),
    "G7": (53, 55, 59),
    "Am": (45, 48, 52),
    "Em": (52, 55, 59),
    "E": (52, 56, 59),
    "Dm": (50, 53, 57),
}
C4, D4, E4, F4, G4, A4, B4 = 60, 62, 64, 65, 67, 69, 71
C5, D5, E5, F5, G5, A5 = 72, 74, 76, 77, 79, 81
GS4, FS4 = 68, 66

_TWINKLE_A = [
    (C5, 1),
    (C5, 1),
    (G5, 1),
    (G5, 1),
    (A5, 1),
    (A5, 1),
    (G5, 2),
    (F5, 1),
    (F5, 1),
    (E5, 1),
    (E5, 1),
    (D5, 1),
    (D5, 1),
    (C5, 2),
]
_TWINKLE_B = [(G5, 1), (G5, 1), (F5, 1), (F5, 1), (E5, 1), (E5, 1), (D5, 2)] * 2
_TWINKLE_A_CHORDS = [("C", 4), ("F", 2), ("C", 2), ("F", 2), ("C", 2), ("G", 2), ("C", 2)]
_TWINKLE_B_CHORDS = [("C", 2), ("F", 2), ("C", 2), ("G", 2)] * 2

_ODE_A = [
    (E5, 1),
    (E5, 1),
    (F5, 1),
    (G5, 1),
    (G5, 1),
    (F5, 1),
    (E5, 1),
    (D5, 1),
    (C5, 1),
    (C5, 1),
    (D5, 1),
    (E5, 1),
]
_ODE = (
    _ODE_A
    + [(E5, 1.5), (D5, 0.5), (D5, 2)]
    + _ODE_A
    + [(D5, 1.5), (C5, 0.5), (C5, 2)]
    + [
        (D5, 1),
        (D5, 1),
        (E5, 1),
        (C5, 1),
        (D5, 1),
        (E5, 0.5),
        (F5, 0.5),
        (E5, 1),
        (C5, 1),
        (D5, 1),
        (E5, 0.5),
        (F5, 0.5),
        (E5, 1),
        (D5, 1),
        (C5, 1),
        (D5, 1),
        (G4, 2),
    ]
    + _ODE_A
    + [(D5, 1.5), (C5, 0.5), (C5, 2)]
)
_ODE_CHORDS = (
    [("C", 4), ("G", 4), ("C", 4), ("G", 2), ("G7", 2)]
    + [("C", 4), ("G", 4), ("C", 4), ("G", 2), ("C", 2)]
    + [("G", 2), ("C", 2), ("G", 2), ("C", 2), ("G", 2), ("C", 2), ("G", 4)]
    + [("C", 4), ("G", 4), ("C", 4), ("G", 2), ("C", 2)]
)

_FRERE = (
    [(C5, 1), (D5, 1), (E5, 1), (C5, 1)] * 2
    + [(E5, 1), (F5, 1), (G5, 2)] * 2
    + [(G5, 0.5), (A5, 0.5), (G5, 0.5), (F5, 0.5), (E5, 1), (C5, 1)] * 2
    + [(C5, 1), (G4, 1), (C5, 2)] * 2
)
_FRERE_CHORDS = [("C", 4)] * 6 + [("C", 2), ("G", 2), ("C", 4)]

_GREENSLEEVES = [
    (None, 2),
    (A4, 1),
    (C5, 2),
    (D5, 1),
    (E5, 1.5),
    (F5, 0.5),
    (E5, 1),
    (D5, 2),
    (B4, 1),
    (G4, 1.5),
    (A4, 0.5),
    (B4, 1),
    (C5, 2),
    (A4, 1),
    (A4, 1.5),
    (GS4, 0.5),
    (A4, 1),
    (B4, 2),
    (GS4, 1),
    (E4, 2),
    (A4, 1),
    (C5, 2),
    (D5, 1),
    (E5, 1.5),
    (F5, 0.5),
    (E5, 1),
    (D5, 2),
    (B4, 1),
    (G4, 1.5),
    (A4, 0.5),
    (B4, 1),
    (C5, 1.5),
    (B4, 0.5),
    (A4, 1),
    (GS4, 1.5),
    (FS4, 0.5),
    (GS4, 1),
    (A4, 3),
]
_GREENSLEEVES_CHORDS = [
    ("Am", 3),
    ("Am", 3),
    ("C", 3),
    ("G", 3),
    ("Em", 3),
    ("Am", 3),
    ("Am", 3),
    ("E", 3),
    ("E", 3),
    ("Am", 3),
    ("C", 3),
    ("G", 3),
    ("Em", 3),
    ("Am", 3),
    ("E", 3),
    ("Am", 3),
]

# file stem -> (title, bpm, (numerator, denominator), key number, melody, chords)
TUNES = {
    "twinkle_twinkle": (
        "Twinkle, Twinkle, Little Star",
        112,
        (4, 4),
        0,
        _TWINKLE_A + _TWINKLE_B + _TWINKLE_A + _TWINKLE_B,
        (_TWINKLE_A_CHORDS + _TWINKLE_B_CHORDS) * 2,
    ),
    "ode_to_joy": ("Ode to Joy", 120, (4, 4), 0, _ODE, _ODE_CHORDS),
    "frere_jacques": ("Frere Jacques", 120, (4, 4), 0, _FRERE * 2, _FRERE_CHORDS * 2),
    "greensleeves": ("Greensleeves", 100, (3, 4), 21, _GREENSLEEVES, _GREENSLEEVES_CHORDS),
}


def _track(name: str, events, bpm: float, velocity: int, chords: bool) -> pretty_midi.Instrument:
    inst = pretty_midi.Instrument(program=0, name=name)
    spb = 60.0 / bpm
    t = 0.0
    for what, beats in events:
        pitches = CHORDS[what] if chords else ([] if what is None else [what])
        for pitch in pitches:
            # a tiny gap so repeated notes are heard as two notes
            inst.notes.append(pretty_midi.Note(velocity, pitch, t, t + beats * spb * 0.95))
        t += beats * spb
    return inst


def build(stem: str) -> pretty_midi.PrettyMIDI:
    """The PrettyMIDI of one tune in :data:`TUNES`."""
    title, bpm, (num, den), key, melody, chords = TUNES[stem]
    beats_per_bar = num * 4 / den
    for label, events in (("melody", melody), ("chords", chords)):
        beats = sum(b for _, b in events)
        if beats != 16 * beats_per_bar:
            raise ValueError(f"{stem} {label}: {beats} beats, expected 16 bars of {num}/{den}.")
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(num, den, 0.0))
    pm.key_signature_changes.append(pretty_midi.KeySignature(key, 0.0))
    pm.instruments.append(_track(f"{title} (melody)", melody, bpm, 90, chords=False))
    pm.instruments.append(_track("chords", chords, bpm, 60, chords=True))
    return pm


def main() -> None:
    for stem in TUNES:
        path = HERE / f"{stem}.mid"
        build(stem).write(str(path))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
