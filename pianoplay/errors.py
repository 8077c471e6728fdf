"""Exceptions a user can be shown as they are.

Every message is a full sentence meant for the person who uploaded the file
or typed the flag; interfaces (CLI, app) print ``str(err)`` and nothing else.
"""

from __future__ import annotations


class PianoplayError(Exception):
    """Base class: anything the user can fix by changing their input."""


class MidiError(PianoplayError, ValueError):
    """A MIDI file or piano roll that cannot be used (corrupt, empty, too big...)."""


class SoundfontError(PianoplayError, RuntimeError):
    """FluidSynth or a General MIDI soundfont is missing or unusable."""


class CheckpointError(PianoplayError, ValueError):
    """An unknown, incomplete or unsafe checkpoint."""


class DataError(PianoplayError, ValueError):
    """A data set that is missing or malformed."""
