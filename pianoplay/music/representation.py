"""How a model sees music: one dataclass saved in every checkpoint's ``config.json``.

An eighth-note benchmark model and a sixteenth-note onset model live side by
side because data loading, encoding, decoding and MIDI output all read the
grid from here instead of assuming one::

    rep = Representation.from_dict(config["representation"])
    loaded = rep.load("tune.mid")          # LoadedRoll on rep's grid, key moved to C
    pm = rep.to_midi(roll, loaded)         # back in the file's key, tempo and metre
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pianoplay.config_io import ConfigError, from_dict, to_dict


@dataclass(frozen=True)
class Representation:
    steps_per_quarter: int = 2  # 2 = eighth-note frames (benchmark), 4 = sixteenths
    onsets: bool = False  # rolls carry an onset channel: (T, 88, 2), repeated notes survive
    normalize_key: bool = True  # transpose to C major / C minor on the way in (undone on output)
    low_pitch: int = 21  # MIDI pitch of key 0
    n_pitches: int = 88
    # "time_signature": bars follow the file's time signatures; a fixed number means
    # every bar has that many steps (the benchmark rolls, which have no metre).
    steps_per_bar: int = 8  # of 4/4, for rolls without a file (benchmark .mat, random samples)
    bars: str = "time_signature"
    match_benchmark: bool = False  # reproduce the .mat rolls' preprocessing (see roll.load_roll)

    def __post_init__(self) -> None:
        if self.steps_per_quarter < 1:
            raise ConfigError(
                f"steps_per_quarter must be at least 1, not {self.steps_per_quarter}."
            )
        if self.bars not in ("time_signature", "fixed"):
            raise ConfigError(f"bars must be 'time_signature' or 'fixed', not {self.bars!r}.")

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None, where: str = "representation") -> Representation:
        return from_dict(cls, d, where)

    @property
    def roll_shape(self) -> tuple[int, ...]:
        """Shape of one frame: (88,) or (88, 2) with onsets."""
        return (self.n_pitches, 2) if self.onsets else (self.n_pitches,)

    def load(self, source, limits=None):
        """A MIDI file (path, bytes, Score) as a ``LoadedRoll`` on this grid."""
        from pianoplay.music.roll import load_roll

        return load_roll(
            source,
            steps_per_quarter=self.steps_per_quarter,
            normalize_key=self.normalize_key,
            onsets=self.onsets,
            limits=limits,
            match_benchmark=self.match_benchmark,
        )

    def load_args(self) -> dict[str, Any]:
        """The ``load_roll`` keywords (the data cache keys on them)."""
        return {
            "steps_per_quarter": self.steps_per_quarter,
            "normalize_key": self.normalize_key,
            "onsets": self.onsets,
            "match_benchmark": self.match_benchmark,
        }

    def to_midi(
        self,
        roll: np.ndarray,
        source=None,
        tempo: float | None = None,
        program: int = 0,
        transpose: int | None = None,
    ):
        """A roll as ``PrettyMIDI``. With ``source`` (the ``LoadedRoll`` or ``Encoded`` it came
        from) the key shift is undone and the file's tempo and first time signature are kept."""
        from pianoplay.music.roll import roll_to_midi

        shift = int(getattr(source, "transpose", 0)) if transpose is None else int(transpose)
        if tempo is None:
            tempo = float(getattr(source, "tempo", 120.0) or 120.0)
        signature = tuple(getattr(source, "time_signature", (4, 4)) or (4, 4))
        pm = roll_to_midi(
            roll,
            steps_per_quarter=self.steps_per_quarter,
            tempo=tempo,
            program=program,
            time_signature=signature,
            transpose=-shift,
        )
        key = getattr(source, "key", None)
        if key is not None and hasattr(key, "key_number") and not key.estimated:
            import pretty_midi  # the file named its key: say it again on the way out

            pm.key_signature_changes.append(pretty_midi.KeySignature(key.key_number, 0.0))
        return pm


# The benchmark .mat rolls: eighth notes in C, no metre (a "bar" is 8 frames).
BENCHMARK = Representation(
    steps_per_quarter=2, onsets=False, normalize_key=True, steps_per_bar=8, bars="fixed"
)
SIXTEENTHS = Representation(steps_per_quarter=4, onsets=True, normalize_key=True, steps_per_bar=16)
