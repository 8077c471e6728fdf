"""One entry point for training and evaluation data: ``load_split``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pianoplay.data.benchmark import load_benchmark
from pianoplay.data.midi_sets import load_midi_split
from pianoplay.errors import DataError


def load_split(path: str | Path, split: str, representation: dict | None = None,
               cache: bool = True) -> list[np.ndarray]:
    """The rolls of one split of a data set.

    Parameters
    ----------
    path : str or Path
        A benchmark ``.mat`` / ``.pickle`` file (already rolls: ``representation``
        is not applied), or a MIDI data-set folder (``train/valid/test``
        subfolders, or ``metadata.csv`` with a ``split`` column as in
        ``piano-midi-de/``).
    split : {"train", "valid", "test"}
    representation : dict
        A checkpoint's ``config["representation"]``: ``steps_per_quarter``
        (default 2), ``normalize_key`` (default True), ``onsets`` (default False),
        ``match_benchmark`` (default False; True reproduces the ``.mat`` rolls
        from the Nottingham MIDI files, see :func:`pianoplay.music.roll.load_roll`).

    Returns
    -------
    list of np.ndarray
        ``(T, 88)`` uint8 rolls (``(T, 88, 2)`` with onsets), one per piece.
    """
    path = Path(path)
    if path.is_file():
        return load_benchmark(path, split)
    if path.is_dir():
        return [x.roll for x in load_midi_split(path, split, representation or {}, cache=cache)]
    raise DataError(f"{path} does not exist; expected a benchmark .mat/.pickle file or a "
                    "MIDI data-set folder (see `pianoplay data download`).")
