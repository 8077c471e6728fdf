"""``pianoplay data download``: fetch the MIDI data sets from their public sources.

- ``nottingham``: ``Nottingham.zip`` of the ICML 2012 data page
  (Boulanger-Lewandowski et al.), unpacked to ``DEST/nottingham/{train,valid,test}``;
- ``piano-midi-de``: the archive of the cheriell/ClassicalPianoMIDI-dataset
  repository, unpacked to ``DEST/piano-midi-de/`` (``midis/`` + ``metadata.csv``)
  with the project's fixed ``split`` column added from ``splits/piano-midi-de.json``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from pianoplay import paths
from pianoplay.errors import DataError

SOURCES = {
    "nottingham": "http://www-etud.iro.umontreal.ca/~boulanni/Nottingham.zip",
    "piano-midi-de": ("https://github.com/cheriell/ClassicalPianoMIDI-dataset/"
                      "archive/refs/heads/main.zip"),
}
SPLIT_FILE = Path(__file__).parent / "splits" / "piano-midi-de.json"


def default_dest() -> Path:
    """``paths.data_dir()`` when it can be written to, else ``~/.cache/pianoplay/data``."""
    target = paths.data_dir()
    probe = target if target.exists() else target.parent
    if probe.exists() and os.access(probe, os.W_OK):
        return target
    return Path.home() / ".cache" / "pianoplay" / "data"


def download(name: str, dest: str | Path | None = None, timeout: float = 30.0,
             url: str | None = None) -> Path:
    """Download and unpack one data set; returns its folder. Raises DataError offline."""
    if name not in SOURCES:
        raise DataError(f"unknown data set {name!r}; choose one of {', '.join(SOURCES)}.")
    dest = Path(dest) if dest is not None else default_dest()
    url = url or SOURCES[name]
    archive = _fetch(url, timeout)
    try:
        zf = zipfile.ZipFile(io.BytesIO(archive))
    except zipfile.BadZipFile:
        raise DataError(f"{url} did not return a zip archive.") from None
    target = dest / name
    if target.exists():
        raise DataError(f"{target} already exists; remove it first to download again.")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        staging = Path(tmp) / name
        if name == "nottingham":
            _unpack_nottingham(zf, staging)
        else:
            _unpack_piano_midi_de(zf, staging)
        staging.rename(target)
    return target


def _fetch(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "pianoplay"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as err:
        raise DataError(f"downloading {url} failed: HTTP {err.code} {err.reason}.") from None
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise DataError(f"cannot download {url} (are you offline? {reason}).") from None


def _members(zf: zipfile.ZipFile) -> list[tuple[PurePosixPath, zipfile.ZipInfo]]:
    """Archive files without their common top folder; unsafe paths refused."""
    infos = [i for i in zf.infolist() if not i.is_dir()]
    names = [PurePosixPath(i.filename) for i in infos]
    for n in names:
        if n.is_absolute() or ".." in n.parts:
            raise DataError(f"refusing an archive member with an unsafe path: {n}.")
    tops = {n.parts[0] for n in names}
    strip = len(tops) == 1 and all(len(n.parts) > 1 for n in names)
    return [(PurePosixPath(*n.parts[1:]) if strip else n, i) for n, i in zip(names, infos)]


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with zf.open(info) as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst)


def _unpack_nottingham(zf: zipfile.ZipFile, staging: Path) -> None:
    count = 0
    for rel, info in _members(zf):
        split = next((p for p in rel.parts if p in ("train", "valid", "test")), None)
        if split and rel.suffix.lower() in (".mid", ".midi"):
            _extract(zf, info, staging / split / rel.name)
            count += 1
    if count == 0:
        raise DataError("the Nottingham archive has no train/valid/test MIDI files.")


def _unpack_piano_midi_de(zf: zipfile.ZipFile, staging: Path) -> None:
    wanted = [(rel, info) for rel, info in _members(zf)
              if rel.parts[0] == "midis" or str(rel) in ("metadata.csv", "COPYRIGHT")]
    if not any(str(rel) == "metadata.csv" for rel, _ in wanted):
        raise DataError("the piano-midi.de archive has no metadata.csv.")
    for rel, info in wanted:
        _extract(zf, info, staging / rel)
    add_split_column(staging / "metadata.csv")


def add_split_column(metadata: Path) -> None:
    """Write the project's fixed split into ``metadata.csv`` (rows it does not know: train)."""
    splits = json.loads(SPLIT_FILE.read_text())
    with metadata.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise DataError(f"{metadata} is empty.")
    fields = [k for k in rows[0] if k != "split"] + ["split"]
    for row in rows:
        row["split"] = splits.get(row["midi"], "train")
    with metadata.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
