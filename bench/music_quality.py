"""How the music of every generator compares with real pieces (MUSIC-MEASURES.md).

    .venv/bin/python bench/music_quality.py [--only NAME] [--pieces 32] [--json OUT]

Generators are found, not listed: every LM checkpoint of the registry with each
decoding strategy of ``STRATEGIES`` (the app's defaults: temperature 1, top-k 20,
top-p 0.9, beam width 8; one call of ``n=1`` per seed, as the app asks), every VAE
checkpoint at the app's temperature for it (``TrainedVAE.sample``), and each chord-LSTM
continuing the first 4 bars of its data set's test MIDIs (sample and beam). An LM decodes
at its checkpoint's ``decode_temperature`` (the app's default for it; 1 when unset). Each
writes ``--pieces`` pieces of 16 bars to MIDI files through ``to_midi`` and
``write_midi``, as the app does, and the measures read those files.

One row per generator, beside the real reference set of its checkpoint's data set
(``data.name``, else the first of ``data.sets``; 64 windows of 128 eighth frames of the
test split: Nottingham's first 64 test
files from their first onset; piano-midi-de's 30 test pieces, each from its first
onset, then the next whole 128 frames of each, ... until 64):

- held, silent, distinct, notes/frame, notes/bar, pitch range: ``pianoplay.music.measures.variety``
  over 128 eighth frames from the first onset (after the primer for continuations);
- pc: pitch-class overlap with the real set (real pieces moved to C as the
  models' training data; generated pieces are written in C);
- NLL: nats per frame of the same 128 frames under an independent model (one that
  did not generate the row): chord-lstm-nottingham, roll-lstm-nottingham and the
  whole-frame classical chord-LSTM chord-lstm-classical-frames;
- uniq: different pieces among the outputs (greedy and beam give one);
- band (issue 12): held <= real + 0.15, distinct >= 0.6 real, silent <= real + 0.05,
  notes/frame within 30 % of real.

Writes ``bench/results/music_quality.json`` (``--json``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from pianoplay.data.midi_sets import representation_args, split_files
from pianoplay.errors import PianoplayError
from pianoplay.models.registry import Registry
from pianoplay.music import measures
from pianoplay.music.midi_write import write_midi
from pianoplay.music.roll import load_roll, score_to_roll
from pianoplay.paths import data_dir

BARS = 16
N_FRAMES = 128  # eighth frames measured (MUSIC-MEASURES.md)
STEPS_PER_QUARTER = 2
REAL_WINDOWS = 64
PRIMER_BARS = 4
PRIMER_STRATEGIES = ("sample", "beam")
# the app's Generate-tab defaults
LM_DEFAULTS = {"temperature": 1.0, "top_k": 20, "top_p": 0.9, "beam_width": 8}
SAMPLE_TEMPERATURE = 1.0  # the app's Sample-tab default
# independent NLL models (eighth-note rolls in C)
JUDGES = ("chord-lstm-nottingham", "roll-lstm-nottingham", "chord-lstm-classical-frames")
# data-set name in a checkpoint's config -> folder under the data directory
DATA_SETS = {"nottingham": "nottingham", "piano-midi-de": "piano-midi-de"}
# issue 12's band around the real set
BAND = {
    "held": "<= real + 0.15",
    "distinct": ">= 0.6 real",
    "silent": "<= real + 0.05",
    "notes_per_frame": "within 30 % of real",
}


def strategies() -> tuple[str, ...]:
    """The decoding strategies offered by the library (one home: the decoding module)."""
    try:
        from pianoplay.decoding import STRATEGIES  # where the decoders are moving
    except ImportError:
        from pianoplay.models.lm.decoding import STRATEGIES
    return tuple(STRATEGIES)


def vae_temperatures(config: dict) -> tuple[float, ...]:
    """The temperature the app's Sample tab samples a VAE at: its checkpoint's
    ``decode_temperature`` (vae-nottingham: 0.75), else 1. A segment VAE's temperature scales
    its prior's spread (its notes are decoded deterministically): 1."""
    if config.get("model", {}).get("kind") == "segment":
        return (SAMPLE_TEMPERATURE,)
    return (float(config.get("decode_temperature", SAMPLE_TEMPERATURE)),)


@dataclass
class Generator:
    name: str  # row label
    checkpoint: str
    kind: str  # "lm", "vae", "prior" (a VAE through its latent prior) or "primer"
    data: str  # the checkpoint's data-set name
    options: dict = field(default_factory=dict)


def reference_data(config: dict) -> str:
    """The data set whose real pieces a checkpoint's outputs are compared with: its
    ``data.name``, else the first of ``data.sets`` we have ("?" when none)."""
    data = config.get("data", {})
    names = [data.get("name", "?"), *data.get("sets", {})]
    return next((n for n in names if str(n).lower() in DATA_SETS), names[0])


def find_generators(registry: Registry) -> list[Generator]:
    gens = []
    for info in registry.list():
        if info.spec.via or not {"sample", "generate"} & set(info.spec.tabs):
            continue  # a performer writes no notes; a prior is measured through its VAE
        data = reference_data(info.config)
        if registry.styles(info.name):  # sampled through its latent prior, in each style
            gens += [Generator(f"{info.name} {style}", info.name, "prior", style,
                               {"style": style}) for style in registry.styles(info.name)]
        elif not info.spec.strategies:  # a VAE: sampled from its prior
            gens += [
                Generator(f"{info.name} T={t:g}", info.name, "vae", data, {"temperature": t})
                for t in vae_temperatures(info.config)
            ]
        else:  # a language model: every strategy, then primer continuations
            gens += [
                Generator(f"{info.name} {s}", info.name, "lm", data, {"strategy": s})
                for s in strategies()
            ]
            if data.lower() in DATA_SETS and info.family == "chord-lstm":
                gens += [
                    Generator(f"{info.name} primer+{s}", info.name, "primer", data, {"strategy": s})
                    for s in PRIMER_STRATEGIES
                ]
    return gens


# generation -------------------------------------------------------------------
def generate(gen: Generator, model, pieces: int, primers: list[np.ndarray]):
    """``pieces`` rolls and, for each, the step where measuring starts (None: first onset)."""
    if gen.kind == "vae":
        rolls = model.sample(pieces, temperature=gen.options["temperature"], seed=0)
        return list(rolls), [None] * len(rolls)
    if gen.kind == "prior":  # ``model``: the prior the app samples through (Registry.sampler)
        rolls = model.sample_pieces(pieces, style=gen.options["style"], seed=0)
        return rolls, [None] * len(rolls)
    rolls, starts = [], []
    for seed in range(pieces):
        primer = primers[seed % len(primers)] if gen.kind == "primer" else None
        opts = {**LM_DEFAULTS, "strategy": gen.options["strategy"]}
        opts["temperature"] = float(model.config.get("decode_temperature", opts["temperature"]))
        roll = model.generate(
            n=1, steps=BARS * model.steps_per_bar, primer=primer, seed=seed, **opts
        )[0]
        rolls.append(roll)
        # measured from the first new frame, on the eighth grid of the measures
        starts.append(
            None if primer is None else len(primer) * STEPS_PER_QUARTER // model.steps_per_quarter
        )
    return rolls, starts


def load_primers(pieces: int, representation: dict, data: str = "nottingham") -> list[np.ndarray]:
    """The first PRIMER_BARS bars of the first test files of ``data`` in a model's
    representation (key moved to C, as the app loads a primer)."""
    primers = []
    for path in split_files(data_dir() / DATA_SETS[data.lower()], "test")[:pieces]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = load_roll(path, **representation_args(representation), limits=measures.LIMITS)
        starts = list(loaded.bar_starts) + [len(loaded.roll)]
        primers.append(loaded.roll[: starts[min(PRIMER_BARS, len(starts) - 1)]])
    return primers


# measuring --------------------------------------------------------------------
@dataclass
class Measured:
    variety: dict
    roll: np.ndarray  # (T, 88) eighth frames in C, for the judges
    start: int  # first measured frame


def measure_file(path: Path, start: int | None, transpose: int = 0) -> Measured:
    """Variety of a MIDI file from ``start`` (default: first onset), moved by ``transpose``."""
    score = measures.read_score(path)  # None: a silent piece
    notes = measures.grid_notes(score, STEPS_PER_QUARTER) if score else np.zeros((0, 3), int)
    notes[:, 0] += transpose
    v = measures.variety(
        notes,
        N_FRAMES,
        STEPS_PER_QUARTER,
        start=start,
        steps_per_bar=measures.bar_steps(score, STEPS_PER_QUARTER),
    )
    if start is None:
        start = int(notes[:, 1].min()) if len(notes) else 0
    roll = np.zeros((start + N_FRAMES, 88), dtype=np.uint8)
    if score is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # notes outside the piano: dropped
            piece = score_to_roll(score, STEPS_PER_QUARTER, transpose=transpose)[: len(roll)]
        roll[: len(piece)] = piece
    return Measured(v, roll, start)


def real_set(data: str) -> list[Measured]:
    """REAL_WINDOWS windows of the data set's test split, in C (see the module doc)."""
    folder = data_dir() / DATA_SETS[data.lower()]
    files = split_files(folder, "test")
    infos = []
    for path in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = load_roll(
                path,
                steps_per_quarter=STEPS_PER_QUARTER,
                normalize_key=True,
                limits=measures.LIMITS,
            )
        notes = measures.grid_notes(path, STEPS_PER_QUARTER)
        infos.append((path, loaded.transpose, int(notes[:, 1].min()), int(notes[:, 2].max())))
    windows: list[Measured] = []
    for j in range(REAL_WINDOWS):  # round j takes window j of every piece long enough
        for path, transpose, first, last in infos:
            # the first window as defined (a short piece is padded); later ones only whole
            if len(windows) < REAL_WINDOWS and (j == 0 or first + (j + 1) * N_FRAMES <= last):
                windows.append(measure_file(path, first + j * N_FRAMES, transpose))
        if len(windows) >= REAL_WINDOWS:
            break
    return windows


def nll(judge, items: list[Measured]) -> float:
    """Mean nats per frame of the measured windows under ``judge`` (context before a
    window is scored too but not counted; a piece's first frame is never counted)."""
    scores = judge.log_prob([m.roll for m in items])
    per_frame = [s[max(m.start, 1) :] for s, m in zip(scores, items)]
    return float(np.mean(np.concatenate(per_frame)))


def summarise(items: list[Measured], real: dict | None, judges: dict, exclude: str = "") -> dict:
    s = measures.set_summary([m.variety for m in items])
    if real is not None:
        s["pc_overlap"] = measures.pitch_class_overlap(
            [m.variety["pitch_class_hist"] for m in items], [real["pitch_class_hist"]]
        )
    for name, judge in judges.items():
        s[f"nll_{name}"] = None if name == exclude else nll(judge, items)
    return s


def band(row: dict, real: dict) -> list[str]:
    """The band checks ``row`` fails (empty: PASS)."""
    failed = []
    if row["held"] > real["held"] + 0.15:
        failed.append("held")
    if row["distinct"] < 0.6 * real["distinct"]:
        failed.append("distinct")
    if row["silent"] > real["silent"] + 0.05:
        failed.append("silent")
    if abs(row["notes_per_frame"] - real["notes_per_frame"]) > 0.3 * real["notes_per_frame"]:
        failed.append("notes/frame")
    return failed


# the table --------------------------------------------------------------------
COLUMNS = [
    ("held", "held", "{:.2f}"),
    ("silent", "silent", "{:.2f}"),
    ("distinct", "distinct", "{:.1f}"),
    ("notes_per_frame", "notes/fr", "{:.2f}"),
    ("notes_per_bar", "notes/bar", "{:.1f}"),
    ("pc_overlap", "pc", "{:.2f}"),
    ("pitch_range", "range", "{:.1f}"),
]


def table(rows: list[dict], judges: list[str]) -> str:
    head = [
        "generator",
        "n",
        *(c[1] for c in COLUMNS),
        *(f"NLL {j}" for j in judges),
        "uniq",
        "band",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["name"], str(r["pieces"])]
        cells += [fmt.format(r[key]) if r.get(key) is not None else "-" for key, _, fmt in COLUMNS]
        cells += [f"{r[f'nll_{j}']:.2f}" if r.get(f"nll_{j}") is not None else "-" for j in judges]
        cells.append(str(r.get("unique", "-")))
        if "band_failed" in r:
            cells.append("PASS" if not r["band_failed"] else "FAIL " + ",".join(r["band_failed"]))
        else:
            cells.append("-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--only",
        action="append",
        default=None,
        help="run generators whose name contains this (repeatable)",
    )
    p.add_argument("--pieces", type=int, default=32, help="pieces per generator")
    p.add_argument("--json", type=Path, default=Path("bench/results/music_quality.json"))
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    if args.pieces < 1:
        p.error(f"--pieces must be at least 1, not {args.pieces}")
    torch.set_num_threads(args.threads)
    registry = Registry(device="cpu")
    gens = find_generators(registry)
    if args.only:
        gens = [g for g in gens if any(o in g.name for o in args.only)]
        if not gens:
            p.error(f"--only {args.only} matches none of the generators")
    started = time.time()
    judges = {name: registry.load(name) for name in JUDGES if name in registry.names()}

    reals: dict[str, dict] = {}
    rows = []
    for data in sorted({g.data.lower() for g in gens if g.data.lower() in DATA_SETS}):
        t = time.time()
        real = summarise(real_set(data), None, judges)
        real.update(
            name=f"REAL {data} test ({real['pieces']} windows)",
            kind="real",
            seconds=round(time.time() - t, 1),
        )
        reals[data] = real
        rows.append(real)
        print(f"real {data}: {real['seconds']} s", file=sys.stderr)

    primers: dict[str, list[np.ndarray]] = {}  # checkpoint -> primer rolls
    skipped = []
    with tempfile.TemporaryDirectory() as tmp:
        for g in gens:
            t = time.time()
            model = registry.load(registry.sampler(g.checkpoint) if g.kind == "prior"
                                  else g.checkpoint)
            if g.kind == "primer" and g.checkpoint not in primers:
                primers[g.checkpoint] = load_primers(
                    args.pieces, model.config.get("representation", {}), g.data
                )
            try:
                rolls, starts = generate(g, model, args.pieces, primers.get(g.checkpoint, []))
            except PianoplayError as err:  # a strategy this family does not offer
                print(f"skip {g.name}: {err}", file=sys.stderr)
                skipped.append({"name": g.name, "reason": str(err)})
                continue
            items, written = [], set()
            for i, (roll, start) in enumerate(zip(rolls, starts)):
                path = Path(tmp, f"{i}.mid")
                write_midi(model.to_midi(roll, tempo=120.0, program=0), path)
                written.add(path.read_bytes())
                items.append(measure_file(path, start))
            real = reals.get(g.data.lower())
            row = summarise(items, real, judges, exclude=g.checkpoint)
            row.update(
                name=g.name,
                kind=g.kind,
                checkpoint=g.checkpoint,
                data=g.data,
                options=g.options,
                unique=len(written),
                seconds=round(time.time() - t, 1),
            )
            if real is not None:
                row["band_failed"] = band(row, real)
            rows.append(row)
            print(f"{g.name}: {row['seconds']} s", file=sys.stderr)

    text = table(rows, list(judges))
    print(text)
    result = {
        "command": "python bench/music_quality.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "torch_threads": torch.get_num_threads(),
        "pieces": args.pieces,
        "bars": BARS,
        "frames_measured": N_FRAMES,
        "lm_options": LM_DEFAULTS,
        "band": BAND,
        "judges": list(judges),
        "minutes": round((time.time() - started) / 60, 2),
        "rows": rows,
        "skipped": skipped,
        "table": text,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.json} ({result['minutes']} min)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
