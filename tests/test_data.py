"""Data sets: benchmark files, MIDI folders, the cache, augmentation, download."""

from __future__ import annotations

import csv
import io
import os
import shutil
import time
import zipfile

import numpy as np
import pytest

from pianoplay.data.download import download
from pianoplay.data.load import load_split
from pianoplay.data.midi_sets import load_midi_files, split_files, transpositions, windows_of
from pianoplay.errors import DataError


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("PIANOPLAY_CACHE", str(folder))
    return folder


def test_nottingham_mat_counts(data_dir):
    path = data_dir / "benchmark" / "Nottingham.mat"
    expected = {"train": (694, 176_561), "valid": (173, 45_513), "test": (170, 44_463)}
    for split, (pieces, frames) in expected.items():
        rolls = load_split(path, split)
        assert len(rolls) == pieces
        assert sum(len(r) for r in rolls) == frames
        assert all(r.dtype == np.uint8 and r.shape[1] == 88 for r in rolls)


def test_nottingham_midi_split(data_dir, cache):
    rolls = load_split(data_dir / "nottingham", "test", {"steps_per_quarter": 2})
    assert len(rolls) == 170
    assert all(r.dtype == np.uint8 and r.ndim == 2 and r.shape[1] == 88 for r in rolls)
    # Key normalised: every tune's pitches lie within the benchmark's range.
    assert min(np.nonzero(r.any(0))[0].min() for r in rolls) + 21 >= 36


def test_cache_makes_second_load_fast(data_dir, cache):
    representation = {"steps_per_quarter": 4, "onsets": True}
    first = load_split(data_dir / "nottingham", "test", representation)
    assert list(cache.rglob("*.npz"))
    start = time.perf_counter()
    second = load_split(data_dir / "nottingham", "test", representation)
    assert time.perf_counter() - start < 1.0
    assert len(first) == len(second)
    assert all(np.array_equal(a, b) for a, b in zip(first, second))


def test_cache_notices_changed_files(data_dir, cache, tmp_path):
    folder = tmp_path / "set" / "test"
    folder.mkdir(parents=True)
    for path in sorted((data_dir / "nottingham" / "test").glob("*.mid"))[:3]:
        shutil.copy(path, folder / path.name)
    files = split_files(tmp_path / "set", "test")
    before = load_midi_files(files, {})
    assert [x.roll.shape for x in load_midi_files(files, {})] == [x.roll.shape for x in before]
    shutil.copy(files[1], files[0])  # new content, new mtime
    os.utime(files[0], ns=(0, 10**18))
    after = load_midi_files(files, {})
    assert np.array_equal(after[0].roll, after[1].roll)
    assert len(list(cache.rglob("*.npz"))) == 2
    # The cached LoadedRoll keeps everything windowing needs.
    assert after[2].bar_starts == before[2].bar_starts
    assert after[2].key == before[2].key and after[2].transpose == before[2].transpose


def test_piano_midi_de_split_column(data_dir, cache):
    folder = data_dir / "piano-midi-de"
    counts = {split: len(split_files(folder, split)) for split in ("train", "valid", "test")}
    assert counts == {"train": 266, "valid": 41, "test": 30}
    rolls = load_split(folder, "test", {"steps_per_quarter": 2, "normalize_key": False})
    assert len(rolls) == 30 and sum(len(r) for r in rolls) > 10_000


def test_bad_split_and_missing_path(data_dir, tmp_path):
    with pytest.raises(DataError, match="split"):
        split_files(data_dir / "nottingham", "dev")
    with pytest.raises(DataError, match="does not exist"):
        load_split(tmp_path / "nothing", "train")
    with pytest.raises(DataError, match="metadata.csv"):
        load_split(tmp_path, "train")


def test_windows_of_a_set(data_dir, cache):
    loaded = load_midi_files(sorted((data_dir / "nottingham" / "test").glob("*.mid"))[:5], {})
    windows = windows_of(loaded, n_bars=4)
    expected = sum(len(p.bar_starts) - 3 for p in loaded)  # tunes end on their last bar
    assert abs(len(windows) - expected) <= len(loaded)  # a short last bar may lose one
    assert {len(w.roll) for w in windows} <= {4 * p.steps_per_bar for p in loaded}
    assert all(w.n_bars == 4 for w in windows)


def test_transpositions_stay_on_the_keyboard():
    roll = np.zeros((4, 88), dtype=np.uint8)
    roll[:, 2] = 1  # B0: room for 2 semitones down
    roll[:, 84] = 1  # A7: room for 3 up
    shifts = [s for s, _ in transpositions(roll, max_shift=6)]
    assert shifts == [-2, -1, 0, 1, 2, 3]
    for shift, moved in transpositions(roll):
        assert moved[:, 2 + shift].all() and moved[:, 84 + shift].all()
        assert moved.sum() == roll.sum()
    onsets = np.stack([roll, roll], axis=-1)
    assert all(m.shape == (4, 88, 2) for _, m in transpositions(onsets))


def test_download_offline_fails_fast(tmp_path):
    start = time.perf_counter()
    with pytest.raises(DataError, match="cannot download"):
        # .invalid never resolves (RFC 2606): no network traffic in CI either.
        download("nottingham", tmp_path, timeout=2, url="http://pianoplay.invalid/N.zip")
    assert time.perf_counter() - start < 10
    with pytest.raises(DataError, match="unknown data set"):
        download("jsb", tmp_path)


def _zip(path, files: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path.as_uri()


def test_download_unpacks_nottingham_layout(tmp_path, nottingham_test_files):
    midi = nottingham_test_files[0].read_bytes()
    url = _zip(tmp_path / "N.zip", {"Nottingham/train/a.mid": midi,
                                    "Nottingham/valid/b.mid": midi,
                                    "Nottingham/test/c.mid": midi})
    folder = download("nottingham", tmp_path / "data", url=url)
    assert [len(split_files(folder, s)) for s in ("train", "valid", "test")] == [1, 1, 1]
    with pytest.raises(DataError, match="already exists"):
        download("nottingham", tmp_path / "data", url=url)


def test_download_adds_piano_midi_de_split(tmp_path, nottingham_test_files):
    midi = nottingham_test_files[0].read_bytes()
    meta = "composer,title,year,midi,duration\nChopin,P,1838,midis/Chopin/chpn-p1.mid,30.7\n"
    url = _zip(tmp_path / "P.zip", {"repo-main/midis/Chopin/chpn-p1.mid": midi,
                                    "repo-main/metadata.csv": meta.encode(),
                                    "repo-main/README.md": b"readme"})
    folder = download("piano-midi-de", tmp_path / "data", url=url)
    with (folder / "metadata.csv").open() as f:
        [row] = list(csv.DictReader(f))
    assert row["split"] in ("train", "valid", "test")
    assert not (folder / "README.md").exists()
    assert [len(split_files(folder, row["split"]))] == [1]


def test_download_refuses_unsafe_archive(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("../evil/train/x.mid", b"x")
    (tmp_path / "e.zip").write_bytes(buffer.getvalue())
    with pytest.raises(DataError, match="unsafe"):
        download("nottingham", tmp_path / "data", url=(tmp_path / "e.zip").as_uri())
