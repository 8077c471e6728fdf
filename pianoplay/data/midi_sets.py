"""MIDI data sets as rolls: split listing, a preprocessed cache, augmentation.

Two folder layouts are understood:

- a MIDI folder with ``train/``, ``valid/``, ``test/`` subfolders (``nottingham/``);
- ``piano-midi-de/``: ``metadata.csv`` whose ``midi`` column is the file path
  and whose ``split`` column names the split.

Preprocessing a set (parse, quantize, normalise the key) is cached under
``pianoplay.paths.cache_dir()`` as one ``.npz`` plus a JSON index, keyed by a
hash of the file list, their sizes and mtimes and the representation, so a
second load only reads two files. Nothing is pickled.
"""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from pianoplay import paths
from pianoplay.data.benchmark import SPLITS
from pianoplay.errors import DataError, MidiError
from pianoplay.music.keys import Key
from pianoplay.music.midi import MidiLimits
from pianoplay.music.roll import N_KEYS, LoadedRoll, load_roll, shift_keys
from pianoplay.music.windows import Window, extract_windows

CACHE_VERSION = 1
# Data sets hold whole concertos: far above the web-upload defaults.
DATASET_LIMITS = MidiLimits(max_bytes=50_000_000, max_notes=2_000_000,
                            max_seconds=4 * 3600.0, min_bpm=1.0, max_bpm=10_000.0)
_POOL_MIN_FILES = 200  # below this, starting workers costs more than it saves
_MIDI_SUFFIXES = (".mid", ".midi")


def split_files(folder: str | Path, split: str) -> list[Path]:
    """The MIDI files of one split of a data-set folder, in a fixed order."""
    if split not in SPLITS:
        raise DataError(f"split must be one of {', '.join(SPLITS)}, not {split!r}.")
    folder = Path(folder)
    metadata = folder / "metadata.csv"
    if metadata.is_file():
        with metadata.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        if not rows or "split" not in rows[0] or "midi" not in rows[0]:
            raise DataError(f"{metadata} needs 'midi' and 'split' columns.")
        files = [_resolve(folder / row["midi"]) for row in rows if row["split"] == split]
    elif (folder / split).is_dir():
        files = sorted(p for p in (folder / split).iterdir()
                       if p.suffix.lower() in _MIDI_SUFFIXES)
    else:
        raise DataError(f"{folder} has neither a metadata.csv nor a {split}/ folder of MIDI "
                        "files.")
    missing = [p for p in files if not p.is_file()]
    if missing:
        raise DataError(f"{len(missing)} files of the {split} split are missing, "
                        f"e.g. {missing[0]}.")
    if not files:
        raise DataError(f"the {split} split of {folder} has no MIDI files.")
    return files


def _resolve(path: Path) -> Path:
    """``path``, or the file whose name differs only in case (metadata.csv lists
    ``schubert_D850_1.mid`` for ``schubert_d850_1.mid``)."""
    if path.is_file() or not path.parent.is_dir():
        return path
    matches = [p for p in path.parent.iterdir() if p.name.lower() == path.name.lower()]
    return matches[0] if len(matches) == 1 else path


def representation_args(representation: dict) -> dict:
    """The ``load_roll`` keywords a checkpoint's representation dict stands for.

    ``match_benchmark: true`` makes MIDI rolls agree with the benchmark ``.mat``
    (see :func:`pianoplay.music.roll.load_roll`).
    """
    return {"steps_per_quarter": int(representation.get("steps_per_quarter", 2)),
            "normalize_key": bool(representation.get("normalize_key", True)),
            "onsets": bool(representation.get("onsets", False)),
            "match_benchmark": bool(representation.get("match_benchmark", False))}


def load_midi_files(files: list[Path], representation: dict, cache: bool = True,
                    workers: int = 2) -> list[LoadedRoll]:
    """Every file as a :class:`LoadedRoll`; files that fail to load are skipped with a warning.

    With ``cache`` the result is read from / written to ``paths.cache_dir()``.
    """
    args = representation_args(representation)
    files = [Path(f) for f in files]
    target = _cache_path(files, args) if cache else None
    if target is not None and target.with_suffix(".json").is_file():
        try:
            return _read_cache(target)
        except (OSError, ValueError, KeyError) as err:
            warnings.warn(f"ignoring the unreadable cache {target} ({err}).", stacklevel=2)
    jobs = [(str(f), args) for f in files]
    if workers > 1 and len(files) >= _POOL_MIN_FILES:
        # fork: spawn would re-run the caller's __main__ (scripts, stdin) in each
        # worker; the workers only use numpy and mido, never torch's thread pools.
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(_load_one, jobs, chunksize=16)
    else:
        results = [_load_one(job) for job in jobs]
    loaded = []
    for (name, _), result in zip(jobs, results):
        if isinstance(result, str):
            warnings.warn(f"skipping {name}: {result}", stacklevel=2)
        else:
            loaded.append(result)
    if target is not None:
        _write_cache(target, loaded)
    return loaded


def load_midi_split(folder: str | Path, split: str, representation: dict,
                    cache: bool = True) -> list[LoadedRoll]:
    """One split of a MIDI data-set folder as :class:`LoadedRoll` s (cached)."""
    return load_midi_files(split_files(folder, split), representation, cache=cache)


def _load_one(job: tuple[str, dict]) -> LoadedRoll | str:
    path, args = job
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pretty_midi/track oddities: one line per set is enough
        try:
            return load_roll(path, limits=DATASET_LIMITS, **args)
        except MidiError as err:
            return str(err)


# ---------------------------------------------------------------- cache


def _cache_path(files: list[Path], args: dict) -> Path:
    digest = hashlib.sha256()
    digest.update(json.dumps({"version": CACHE_VERSION, "representation": args},
                             sort_keys=True).encode())
    for f in files:
        stat = f.stat()
        digest.update(f"{f.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return paths.cache_dir() / "rolls" / f"{digest.hexdigest()[:24]}.npz"


def _write_cache(target: Path, loaded: list[LoadedRoll]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    empty = np.zeros((0, N_KEYS), dtype=np.uint8)
    frames = np.concatenate([x.roll for x in loaded]) if loaded else empty
    index = [{"length": len(x.roll), "transpose": x.transpose, "steps_per_bar": x.steps_per_bar,
              "bar_starts": x.bar_starts, "tempo": x.tempo,
              "time_signature": list(x.time_signature),
              "key": [x.key.tonic, x.key.minor, x.key.estimated]} for x in loaded]
    # Write under temporary names, then rename: a reader never sees half a cache.
    tmp = target.with_name(f".{target.stem}.{os.getpid()}.npz")
    np.savez(tmp, frames=frames)
    tmp.replace(target)
    tmp_json = target.with_name(f".{target.stem}.{os.getpid()}.json")
    tmp_json.write_text(json.dumps(index))
    tmp_json.replace(target.with_suffix(".json"))


def _read_cache(target: Path) -> list[LoadedRoll]:
    index = json.loads(target.with_suffix(".json").read_text())
    with np.load(target, allow_pickle=False) as npz:
        frames = npz["frames"]
    if sum(item["length"] for item in index) != len(frames):
        raise ValueError("index and frames disagree")
    loaded, offset = [], 0
    for item in index:
        n = item["length"]
        tonic, minor, estimated = item["key"]
        loaded.append(LoadedRoll(
            roll=frames[offset:offset + n], transpose=item["transpose"],
            steps_per_bar=item["steps_per_bar"], bar_starts=item["bar_starts"],
            tempo=item["tempo"], time_signature=tuple(item["time_signature"]),
            key=Key(tonic, bool(minor), bool(estimated))))
        offset += n
    return loaded


# ---------------------------------------------------------------- windows, augmentation


def windows_of(loaded: list[LoadedRoll], n_bars: int, min_notes: int = 1) -> list[Window]:
    """All ``n_bars``-bar windows (one bar apart) of every piece, as MusicVAE trains on."""
    windows = []
    for piece in loaded:
        n_steps = n_bars * piece.steps_per_bar
        windows.extend(extract_windows(piece.roll, n_steps, piece.bar_starts, min_notes))
    return windows


def transpositions(roll: np.ndarray, max_shift: int = 6) -> Iterator[tuple[int, np.ndarray]]:
    """``(shift, roll)`` for every shift in ``-max_shift..max_shift`` that keeps all notes
    on the 88 keys (shift 0, the roll itself, included)."""
    frames = roll[..., 0] if roll.ndim == 3 else roll
    used = np.nonzero(frames.any(axis=0))[0]
    if len(used) == 0:
        yield 0, roll
        return
    low, high = int(used[0]), int(used[-1])
    for shift in range(-max_shift, max_shift + 1):
        if low + shift < 0 or high + shift >= N_KEYS:
            continue
        yield shift, shift_keys(roll, shift)
