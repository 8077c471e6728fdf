"""Rolls to files: MIDI, WAV and PNG in per-request output folders."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Audio for the app: half the CD rate and no reverb/chorus render ~3x faster
# than the CLI's default, and mono halves the bytes every client downloads;
# that is what keeps a 16-bar preview interactive.
SAMPLE_RATE = 22050
EFFECTS = False
MONO = True
KEEP_SECONDS = 3600.0  # output folders older than this are deleted
MAX_BYTES = 512 * 2**20  # above this, the oldest folders go first ...
MIN_KEEP_SECONDS = 120.0  # ... but never one a client may still be downloading
CHECK_EVERY = 16  # requests between two measurements of the folder's size
ROOT_PREFIX = "pianoplay-app-"


@dataclass
class Piece:
    """One rendered roll."""

    roll: np.ndarray  # (T, 88) uint8
    midi: Path
    wav: Path | None
    png: Path | None
    seconds: float  # length of the WAV
    seed: int | None = None  # the seed it was made with, to make it again
    # what was changed about the user's input to make it ("tempo 5000 is above 240: ...")
    notes: list[str] = field(default_factory=list)


class Outputs:
    """A root folder holding one sub-folder per request; old ones are pruned.

    The root is deleted when the process exits; roots that killed processes left
    behind in the same base folder are deleted once untouched for ``keep_seconds``.
    Under load the root is also kept under ``max_bytes``: every ``CHECK_EVERY``
    requests the oldest folders (at least ``MIN_KEEP_SECONDS`` old) are deleted until
    it fits."""

    def __init__(
        self,
        root: str | Path | None = None,
        keep_seconds: float = KEEP_SECONDS,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        base = Path(root) if root is not None else Path(tempfile.gettempdir())
        base.mkdir(parents=True, exist_ok=True)
        self.keep_seconds = keep_seconds
        self.max_bytes = max_bytes
        self._requests = 0
        _prune_older(base.glob(f"{ROOT_PREFIX}*"), keep_seconds)
        self.root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX, dir=base))
        self._lock = threading.Lock()
        atexit.register(shutil.rmtree, self.root, True)

    def new(self, prefix: str) -> Path:
        """A fresh, empty folder for one request."""
        with self._lock:
            self._prune()
            self.root.mkdir(parents=True, exist_ok=True)  # in case another process pruned it
            return Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=self.root))

    def _prune(self) -> None:
        if not self.root.is_dir():
            return
        _prune_older(self.root.iterdir(), self.keep_seconds)
        self._requests += 1
        if self._requests % CHECK_EVERY == 0:
            self._prune_to_size()

    def _prune_to_size(self) -> None:
        folders = []
        for folder in self.root.iterdir():
            try:
                folders.append((folder.stat().st_mtime, _size(folder), folder))
            except OSError:
                continue
        total = sum(size for _, size, _ in folders)
        cutoff = time.time() - MIN_KEEP_SECONDS
        for mtime, size, folder in sorted(folders):
            if total <= self.max_bytes or mtime >= cutoff:
                break
            shutil.rmtree(folder, ignore_errors=True)
            total -= size

    def size(self) -> int:
        """Bytes under the root."""
        return _size(self.root)


def _size(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            total += path.stat().st_size if path.is_file() else 0
        except OSError:
            continue
    return total


def _prune_older(folders, keep_seconds: float) -> None:
    cutoff = time.time() - keep_seconds
    for folder in folders:
        try:
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue  # removed meanwhile by another process


def render_piece(
    model,
    roll: np.ndarray,
    folder: Path,
    stem: str,
    tempo: float,
    program: int,
    title: str | None = None,
    wav: bool = True,
    png: bool = True,
    seed: int | None = None,
    marks: dict[int, str] | None = None,
    performed: bool = True,
    layout=None,
    bar_starts: list[int] | None = None,
    source=None,
    keep=None,
) -> Piece:
    """Write ``stem.mid`` (and ``stem.wav``, ``stem.png``) of a (T, 88) roll.

    ``model`` is a ``TrainedLM`` or ``TrainedVAE``: its ``to_midi`` and
    ``steps_per_bar`` fix the timing of the roll. The PNG records its time scale
    (seconds per step) for the page's playhead. ``performed``: the performer
    (``pianoplay.models.performer``, checkpoint ``performer-classical``) sets the
    velocities and the sustain pedal; else every note has one velocity and no pedal.
    ``keep``: ``(PrettyMIDI of the user's file, end in quarter notes[, resume])``, or a dict
    of ``performer.keep_from``'s keywords: where the piece holds the user's notes before
    that end (a primer's bars), and from ``resume`` on (an infill's bars after the new
    ones), they keep the file's own velocities and pedal.
    ``layout`` (:class:`pianoplay.audio.plot.Layout`): the size the roll is shown at;
    ``bar_starts``: the piece's own bars (a primer's 6/8 bars), else the model's.
    """
    from pianoplay.audio.plot import WIDE, roll_png
    from pianoplay.audio.synth import render, write_wav
    from pianoplay.music.midi_write import write_midi

    # ``source`` (a LoadedRoll): the roll goes back into that file's key and metre
    moved = {"source": source} if source is not None else {}
    pm = model.to_midi(roll, tempo=tempo, program=program, **moved)
    if performed:
        from pianoplay.models.performer import perform

        perform(pm)
        if keep is not None:
            from pianoplay.models.performer import keep_from

            if isinstance(keep, dict):
                keep_from(pm, **keep)
            else:
                keep_from(pm, keep[0], keep[1], resume_quarters=(keep[2:] or (None,))[0])
    midi_path = folder / f"{stem}.mid"
    write_midi(pm, midi_path)
    wav_path = png_path = None
    seconds = 0.0
    if wav:
        audio = render(pm, sample_rate=SAMPLE_RATE, program=program, effects=EFFECTS, mono=MONO)
        wav_path = write_wav(folder / f"{stem}.wav", audio, SAMPLE_RATE)
        seconds = len(audio) / SAMPLE_RATE
    if png:
        png_path = roll_png(
            roll,
            folder / f"{stem}.png",
            steps_per_bar=model.steps_per_bar,
            title=title,
            step_seconds=60.0 / (tempo * model.steps_per_quarter),
            marks=marks,
            layout=layout or WIDE,
            bar_starts=bar_starts,
        )
    return Piece(roll=roll, midi=midi_path, wav=wav_path, png=png_path, seconds=seconds, seed=seed)


def cut_wav(source: Path, start_s: float, seconds: float, dest: Path) -> Path:
    """Copy ``seconds`` of audio from ``start_s`` of a WAV file into ``dest``."""
    with wave.open(str(source), "rb") as src:
        rate = src.getframerate()
        first = min(round(start_s * rate), src.getnframes())
        src.setpos(first)
        frames = src.readframes(round(seconds * rate))
        params = src.getparams()
    with wave.open(str(dest), "wb") as out:
        out.setparams(params)
        out.writeframes(frames)
    return dest
