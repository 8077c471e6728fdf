"""Fuzz the MIDI input paths with damaged copies of real files; count what happens.

    .venv/bin/python bench/fuzz.py [--cases 500] [--seed 0] [--render-every 5]

Each case mutates a real Nottingham or piano-midi.de file (bit flips, truncation,
inserted/deleted/spliced bytes, absurd header fields, huge delta times,
thousands of tracks, zero-length notes, broken meta events, data bytes above
127) and feeds it to ``load_midi``, ``load_roll``, ``pianoplay inspect`` and
(every ``--render-every``-th case) ``pianoplay render``, each under a time
limit. A call must succeed or raise a ``PianoplayError`` (the CLI: exit 2 and
one line); anything else is a traceback, running past the limit a hang.
Prints one line per failure and the counts; ``tests/test_fuzz.py`` runs the
same cases, fewer of them.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import random
import signal
import struct
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import mido

from pianoplay import cli
from pianoplay.errors import PianoplayError
from pianoplay.music.midi import load_midi
from pianoplay.music.roll import load_roll
from pianoplay.paths import data_dir

TIME_LIMIT = {"load_midi": 10.0, "load_roll": 10.0, "inspect": 10.0, "render": 30.0}


def seed_files() -> list[Path]:
    """Every Nottingham test file and the 20 smallest piano-midi.de files."""
    root = data_dir()
    piano = sorted((root / "piano-midi-de").rglob("*.mid"), key=lambda p: p.stat().st_size)
    return sorted((root / "nottingham" / "test").glob("*.mid")) + piano[:20]


# -- mutations: each takes (bytes, rng) and returns damaged bytes ------------------------------

def bit_flips(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice([1, 1, 2, 4, 16])):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(1, len(data))]


def insert_bytes(data: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(len(data))
    return data[:i] + rng.randbytes(rng.choice([1, 2, 3, 16, 200])) + data[i:]


def delete_bytes(data: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(len(data))
    return data[:i] + data[i + rng.choice([1, 2, 3, 16, 200]) :]


def splice(data: bytes, rng: random.Random) -> bytes:
    """A run of the file copied over another place of it."""
    i, j = rng.randrange(len(data)), rng.randrange(len(data))
    n = rng.choice([4, 16, 64, 512])
    return data[:i] + data[j : j + n] + data[i + n :]


def header_field(data: bytes, rng: random.Random) -> bytes:
    """Absurd values in the header: length, format, track count or division."""
    out = bytearray(data)
    offset, fmt, values = rng.choice([
        (4, ">I", [0, 2, 5, 7, 100, 0xFFFFFFFF]),
        (8, ">H", [3, 255, 0xFFFF]),
        (10, ">H", [0, 1, 1000, 0xFFFF]),
        (12, ">h", [0, 1, -1, -0x1800, -0x1900 + 40, 0x7FFF, -0x8000]),
    ])
    struct.pack_into(fmt, out, offset, rng.choice(values))
    return bytes(out)


def data_bytes_above_127(data: bytes, rng: random.Random) -> bytes:
    """Set the top bit of data bytes of a few note events."""
    out = bytearray(data)
    spots = [i for i in range(14, len(out) - 2) if out[i] & 0xE0 == 0x80 and out[i + 1] < 128]
    for i in rng.sample(spots, min(len(spots), rng.choice([1, 5, 50]))):
        out[i + rng.choice([1, 2])] |= 0x80
    return bytes(out)


def broken_meta(data: bytes, rng: random.Random) -> bytes:
    """A tempo of 0, a time signature over 2**200, a key with 100 sharps, or short lengths."""
    out = bytearray(data)
    edits = [(b"\xff\x51\x03", 0, b"\x00\x00\x00"), (b"\xff\x58\x04", 1, b"\xc8"),
             (b"\xff\x58\x04", 0, b"\x00"), (b"\xff\x59\x02", 0, b"\x64"),
             (b"\xff\x51\x03", -1, b"\x01"), (b"\xff\x58\x04", -1, b"\x7f")]
    tag, at, value = rng.choice(edits)
    i = out.find(tag)
    if i < 0:
        return bit_flips(data, rng)
    if at == -1:  # a wrong length byte
        out[i + 2 : i + 3] = value
    else:
        start = i + len(tag) + at
        out[start : start + len(value)] = value
    return bytes(out)


def _mido(data: bytes) -> mido.MidiFile:
    return mido.MidiFile(file=io.BytesIO(data))


def _save(mid: mido.MidiFile) -> bytes:
    buffer = io.BytesIO()
    mid.save(file=buffer)
    return buffer.getvalue()


def huge_delta(data: bytes, rng: random.Random) -> bytes:
    mid = _mido(data)
    track = rng.choice(mid.tracks)
    msg = rng.choice(track)
    msg.time = rng.choice([2**20, 2**24, 2**28 - 1])
    return _save(mid)


def zero_length_notes(data: bytes, rng: random.Random) -> bytes:
    """Every note-off moved onto its note-on (later events keep their ticks)."""
    mid = _mido(data)
    for track in mid.tracks:
        tick, events = 0, []
        on: dict[tuple[int, int], int] = {}
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity:
                on[(msg.channel, msg.note)] = tick
            elif msg.type in ("note_on", "note_off") and (msg.channel, msg.note) in on:
                events.append((on.pop((msg.channel, msg.note)), msg))
                continue
            events.append((tick, msg))
        events.sort(key=lambda e: e[0])
        track[:] = []
        now = 0
        for t, msg in events:
            track.append(msg.copy(time=t - now))
            now = t
    return _save(mid)


def thousands_of_tracks(data: bytes, rng: random.Random) -> bytes:
    """The smallest track with notes, repeated until the file has thousands of tracks."""
    mid = _mido(data)
    with_notes = [t for t in mid.tracks if any(m.type == "note_on" for m in t)]
    track = min(with_notes or mid.tracks, key=len)[:40]
    size = len(_save(mido.MidiFile(tracks=[track])))
    copies = min(rng.choice([1000, 3000, 8000]), 1_900_000 // max(size - 14, 1))
    out = mido.MidiFile(type=1, ticks_per_beat=mid.ticks_per_beat)
    out.tracks.extend([track] * copies)
    return _save(out)


MUTATIONS = {f.__name__: f for f in (
    bit_flips, truncate, insert_bytes, delete_bytes, splice, header_field,
    data_bytes_above_127, broken_meta, huge_delta, zero_length_notes, thousands_of_tracks)}


def cases(n: int, seed: int = 0) -> list[tuple[str, str, bytes]]:
    """``n`` fuzzed files as (mutation, seed file name, bytes), the mutations in turn."""
    rng = random.Random(seed)
    files = seed_files()
    names = list(MUTATIONS)
    out = []
    for i in range(n):
        source = rng.choice(files)
        name = names[i % len(names)]
        out.append((name, source.name, MUTATIONS[name](source.read_bytes(), rng)))
    return out


# -- running one case --------------------------------------------------------------------------

class Hang(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float):
    def stop(signum, frame):
        raise Hang(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Outcome:
    """What each target did with one file: "ok", "rejected", "traceback" or "hang"
    ("salvaged" for ``load_midi`` when the score lists repairs)."""

    mutation: str
    source: str
    results: dict[str, str] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)


def _cli(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, err.getvalue()


def run_case(mutation: str, source: str, data: bytes, folder: Path, render: bool) -> Outcome:
    outcome = Outcome(mutation, source)
    path = folder / "fuzzed.mid"
    path.write_bytes(data)
    targets = {
        "load_midi": lambda: load_midi(data),
        "load_roll": lambda: load_roll(data),
        "inspect": lambda: _cli(["inspect", str(path)]),
    }
    if render:
        targets["render"] = lambda: _cli(["render", str(path), str(folder / "fuzzed.wav"),
                                          "--sample-rate", "8000"])
    for target, call in targets.items():
        try:
            with warnings.catch_warnings(), time_limit(TIME_LIMIT[target]):
                warnings.simplefilter("ignore")
                result = call()
            if isinstance(result, tuple):  # the CLI
                code, err = result
                lines = err.strip().splitlines()
                if code == 2 and len(lines) == 1 and "Traceback" not in err:
                    outcome.results[target] = "rejected"
                elif code == 0:
                    outcome.results[target] = "ok"
                else:
                    outcome.results[target] = "traceback"
                    outcome.details[target] = f"exit {code}: {err.strip()[-300:]}"
                continue
            repairs = getattr(result, "repairs", None)  # a Score: was it damaged?
            outcome.results[target] = "salvaged" if repairs else "ok"
            if repairs:
                outcome.details[target] = "; ".join(repairs)[:300]
        except Hang as err:
            outcome.results[target] = "hang"
            outcome.details[target] = str(err)
        except PianoplayError as err:
            outcome.results[target] = "rejected"
            outcome.details[target] = str(err)[:300]
        except Exception:  # noqa: BLE001 - that is what the fuzzer looks for
            outcome.results[target] = "traceback"
            outcome.details[target] = traceback.format_exc(limit=-3)[-600:]
    return outcome


def mido_strict_reads(data: bytes) -> bool:
    """Whether plain mido (what load_midi used before the tolerant reader) parses the file."""
    try:
        _mido(data)
        return True
    except Exception:  # noqa: BLE001
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--render-every", type=int, default=5, help="render every N-th case")
    args = ap.parse_args()
    started = time.perf_counter()
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    by_mutation: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    strict = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (mutation, source, data) in enumerate(cases(args.cases, args.seed)):
            strict += mido_strict_reads(data)
            outcome = run_case(mutation, source, data, Path(tmp),
                               render=args.render_every > 0 and i % args.render_every == 0)
            for target, result in outcome.results.items():
                counts[target][result] += 1
            by_mutation[mutation][outcome.results["load_midi"]] += 1
            for target, result in outcome.results.items():
                if result in ("traceback", "hang"):
                    print(f"case {i} {mutation} of {source}: {target} {result}: "
                          f"{outcome.details[target]}", file=sys.stderr)
    print(f"{args.cases} fuzzed files (seed {args.seed}) in {time.perf_counter() - started:.0f} s;"
          f" plain mido would read {strict} of them")
    for target, counter in counts.items():
        print(f"  {target:10s} " + "  ".join(f"{k} {counter[k]}" for k in
              ("ok", "salvaged", "rejected", "traceback", "hang")))
    print("load_midi by mutation:")
    for mutation, counter in by_mutation.items():
        print(f"  {mutation:22s} " + "  ".join(f"{k} {v}" for k, v in sorted(counter.items())))


if __name__ == "__main__":
    main()
