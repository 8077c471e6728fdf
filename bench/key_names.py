"""How often the key pianoplay names is the key a piece's title names.

    .venv/bin/python bench/key_names.py [--all]

The piano-midi-de pieces whose title names a key ("Ballad_G_minor_Opus_23"):
first movements and single pieces by default (inner movements are often in
another key than the work's title), every one with ``--all``. Each piece is
named three ways: the key signature as written, the signature read as a major /
relative-minor pair that the music chooses (what pianoplay does), and the
Krumhansl-Schmuckler estimate. Also counts the Nottingham tunes whose name
changes from the signature as written.
"""

from __future__ import annotations

import argparse
import csv
import re
import warnings
from pathlib import Path

from pianoplay.data.midi_sets import DATASET_LIMITS
from pianoplay.music.keys import NAMES, score_key
from pianoplay.music.midi import load_midi
from pianoplay.paths import data_dir

TITLE_KEY = re.compile(r"(?:^|_)([A-G][b#]?)_(major|minor)(?:_|$)")
PITCH_CLASS = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5,
               "F#": 6, "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "Bb": 10, "B": 11}
SOURCES = ("signature", "events", "estimate")


def first_or_single(title: str) -> bool:
    """A single piece, or the first movement of a sonata / fantasia."""
    if not re.search("sonata|fantasia", title, re.IGNORECASE):
        return True
    return re.search(r"_(\d+)(_Alla_Turca)?$", title).group(1) == "1"


def _file(root: Path, name: str) -> Path:
    path = root / name
    if path.exists():
        return path
    # metadata.csv spells a few names in another case than the files
    return next(p for p in path.parent.iterdir() if p.name.lower() == path.name.lower())


def titled_pieces(every: bool) -> list[tuple[str, str, Path]]:
    root = data_dir() / "piano-midi-de"
    rows = list(csv.DictReader(open(root / "metadata.csv", encoding="utf-8")))
    pieces = []
    for row in rows:
        match = TITLE_KEY.search(row["title"])
        if match and (every or first_or_single(row["title"])):
            tonic, mode = match.groups()
            pieces.append((row["title"], f"{NAMES[PITCH_CLASS[tonic]]} {mode}",
                           _file(root, row["midi"])))
    return pieces


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all", action="store_true", help="every titled piece, not only "
                    "first movements and single pieces")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    right = dict.fromkeys(SOURCES, 0)
    pieces = titled_pieces(args.all)
    for title, want, path in pieces:
        score = load_midi(path, DATASET_LIMITS)
        named = {s: score_key(score, s).name for s in SOURCES}
        for s in SOURCES:
            right[s] += named[s] == want
        mark = "  " if named["events"] == want else "x "
        print(f"{mark}{title[:48]:48s} title {want:9s} signature {named['signature']:9s} "
              f"named {named['events']}")
    for s in SOURCES:
        print(f"{s:9s}: {right[s]}/{len(pieces)} = {right[s] / len(pieces):.0%} as the title")
    changed = total = 0
    for path in sorted((data_dir() / "nottingham").glob("*/*.mid")):
        score = load_midi(path)
        if score.key_signatures:
            total += 1
            changed += score_key(score, "events") != score_key(score, "signature")
    print(f"nottingham: {changed}/{total} tunes named otherwise than their signature")


if __name__ == "__main__":
    main()
