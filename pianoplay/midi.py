"""Read a MIDI file into a :class:`Score`: notes with tick and second times.

The file is parsed with mido so that note times stay exact integer ticks
(quantization in :mod:`pianoplay.roll` works from ticks, never seconds).
Everything that can go wrong with a user's file becomes a
:class:`~pianoplay.errors.MidiError` whose message is one sentence the user
can act on; no mido or struct exception escapes :func:`load_midi`.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pianoplay.errors import MidiError

DRUM_CHANNEL = 9
DEFAULT_BPM = 120.0
# mido key names (e.g. "Eb", "F#m") to pitch class of the tonic.
_PITCH_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


@dataclass(frozen=True)
class MidiLimits:
    """What :func:`load_midi` accepts; the defaults are sized for a web upload."""

    max_bytes: int = 2_000_000
    max_notes: int = 20_000
    max_seconds: float = 30 * 60.0
    min_bpm: float = 10.0
    max_bpm: float = 1000.0


@dataclass(frozen=True, slots=True)
class Note:
    pitch: int
    start_tick: int
    end_tick: int
    start: float  # seconds
    end: float  # seconds
    velocity: int
    program: int
    is_drum: bool


@dataclass
class Track:
    """The notes of one (MIDI track, channel, program), as pretty_midi groups instruments."""

    name: str
    program: int
    is_drum: bool
    notes: list[Note] = field(default_factory=list)
    # (seconds, controller, value) of the track's channel, shared by its programs
    controls: list[tuple[float, int, int]] = field(default_factory=list)


@dataclass
class Score:
    """A parsed MIDI file.

    Times of the meta events are in ticks; ``tempos`` holds ``(tick, bpm)``,
    ``time_signatures`` ``(tick, numerator, denominator)`` and
    ``key_signatures`` ``(tick, key_number)`` with pretty_midi's numbering
    (0-11 major with tonic ``key_number``, 12-23 minor with tonic ``key_number % 12``).
    Each list is sorted by tick; ``tempos`` always has an entry at tick 0.
    """

    ticks_per_quarter: int
    tracks: list[Track]
    tempos: list[tuple[int, float]]
    time_signatures: list[tuple[int, int, int]]
    key_signatures: list[tuple[int, int]]
    end_tick: int  # last event of the file
    duration: float  # seconds of end_tick

    @property
    def pitched_notes(self) -> list[Note]:
        """Every non-drum note, sorted by start tick then pitch."""
        notes = [n for t in self.tracks if not t.is_drum for n in t.notes]
        notes.sort(key=lambda n: (n.start_tick, n.pitch))
        return notes

    @property
    def tempo(self) -> float:
        """The initial tempo in quarter notes per minute."""
        return self.tempos[0][1]

    @property
    def time_signature(self) -> tuple[int, int]:
        """The first time signature, 4/4 when the file has none."""
        if self.time_signatures and self.time_signatures[0][0] == 0:
            return self.time_signatures[0][1], self.time_signatures[0][2]
        return 4, 4

    def to_pretty_midi(self, time_scale: float = 1.0):
        """The notes and controllers as a ``pretty_midi.PrettyMIDI`` (for rendering).

        Times are the score's seconds times ``time_scale`` (2.0 plays at half
        speed). The PrettyMIDI holds one tempo, the first one scaled, and no
        meta events; note times stay exact because they are given in seconds.
        """
        import pretty_midi

        pm = pretty_midi.PrettyMIDI(resolution=self.ticks_per_quarter,
                                    initial_tempo=self.tempo / time_scale)
        for track in self.tracks:
            inst = pretty_midi.Instrument(track.program, is_drum=track.is_drum, name=track.name)
            inst.notes = [pretty_midi.Note(n.velocity, n.pitch, n.start * time_scale,
                                           n.end * time_scale) for n in track.notes]
            inst.control_changes = [pretty_midi.ControlChange(number, value, t * time_scale)
                                    for t, number, value in track.controls]
            pm.instruments.append(inst)
        return pm

    def tick_to_seconds(self, ticks) -> np.ndarray:
        """Seconds of tick positions under the tempo map (array in, array out)."""
        return _tempo_map(self.tempos, self.ticks_per_quarter)(np.asarray(ticks, dtype=float))


def load_midi(source, limits: MidiLimits | None = None) -> Score:
    """Parse a MIDI file.

    Parameters
    ----------
    source : str, Path, bytes or pretty_midi.PrettyMIDI
        A file path, the file's bytes, or an in-memory PrettyMIDI.
    limits : MidiLimits, optional
        Size, note-count, duration and tempo bounds (default ``MidiLimits()``).

    Raises
    ------
    MidiError
        For unreadable, corrupt, empty, drum-only, too large or too long files,
        zero or negative ticks per beat, and tempos outside the limits.
    """
    limits = limits or MidiLimits()
    data, name = _read_bytes(source, limits)
    import mido

    try:
        mid = mido.MidiFile(file=io.BytesIO(data))
    except Exception as err:  # noqa: BLE001 - mido raises many types on corrupt bytes
        raise MidiError(f"{name} is not a readable MIDI file ({_reason(err)}).") from None
    if mid.type == 2:
        warnings.warn(f"{name} is a type 2 MIDI file; its tracks are read as simultaneous.",
                      stacklevel=2)
    tpq = mid.ticks_per_beat
    if tpq <= 0:
        raise MidiError(f"{name} has {tpq} ticks per beat (SMPTE or broken header); "
                        "only files timed in ticks per quarter note are supported.")
    return _build_score(mid, tpq, name, limits)


def _read_bytes(source, limits: MidiLimits) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "the uploaded file"
    elif isinstance(source, (str, Path)):
        path = Path(source)
        name = path.name
        try:
            size = path.stat().st_size
            if size > limits.max_bytes:
                raise MidiError(_too_big(name, size, limits))
            data = path.read_bytes()
        except IsADirectoryError:
            raise MidiError(f"{path} is a folder, not a MIDI file.") from None
        except FileNotFoundError:
            raise MidiError(f"{path} does not exist.") from None
        except OSError as err:
            raise MidiError(f"{path} cannot be read ({err.strerror}).") from None
    elif hasattr(source, "write") and hasattr(source, "instruments"):  # a PrettyMIDI
        buffer = io.BytesIO()
        source.write(buffer)
        data, name = buffer.getvalue(), "the MIDI data"
    else:
        raise TypeError(f"load_midi expects a path, bytes or PrettyMIDI, not {type(source)}")
    if not data:
        raise MidiError(f"{name} is empty (0 bytes).")
    if len(data) > limits.max_bytes:
        raise MidiError(_too_big(name, len(data), limits))
    return data, name


def _too_big(name: str, size: int, limits: MidiLimits) -> str:
    return (f"{name} is {size / 1e6:.1f} MB; the limit is {limits.max_bytes / 1e6:.1f} MB "
            "for a MIDI file.")


def _reason(err: Exception) -> str:
    if isinstance(err, EOFError):
        return "it ends in the middle of its data"
    text = str(err).strip()
    return text if text else type(err).__name__


def _build_score(mid, tpq: int, name: str, limits: MidiLimits) -> Score:
    tempos: list[tuple[int, float]] = []
    time_sigs: list[tuple[int, int, int]] = []
    keys: list[tuple[int, int]] = []
    raw: dict[tuple[int, int, int], list[list]] = {}  # (track, channel, program) -> notes
    names: dict[int, str] = {}
    controls: dict[tuple[int, int], list[tuple[int, int, int]]] = {}  # (track, channel)
    end_tick = 0
    for t_index, track in enumerate(mid.tracks):
        tick = 0
        programs = [0] * 16
        open_notes: dict[tuple[int, int], list[list]] = {}  # (channel, pitch) -> FIFO
        for msg in track:
            tick += msg.time
            kind = msg.type
            if kind == "note_on" and msg.velocity > 0:
                note = [msg.note, tick, None, msg.velocity, programs[msg.channel], msg.channel]
                open_notes.setdefault((msg.channel, msg.note), []).append(note)
                raw.setdefault((t_index, msg.channel, programs[msg.channel]), []).append(note)
            elif kind == "note_off" or kind == "note_on":
                pending = open_notes.get((msg.channel, msg.note))
                if pending:
                    pending.pop(0)[2] = tick
            elif kind == "program_change":
                programs[msg.channel] = msg.program
            elif kind == "control_change":
                controls.setdefault((t_index, msg.channel), []).append(
                    (tick, msg.control, msg.value))
            elif kind == "set_tempo":
                bpm = 60e6 / msg.tempo if msg.tempo > 0 else float("inf")
                if not limits.min_bpm <= bpm <= limits.max_bpm:
                    raise MidiError(
                        f"{name} sets a tempo of {bpm:.4g} beats per minute; tempos must lie "
                        f"between {limits.min_bpm:g} and {limits.max_bpm:g}.")
                tempos.append((tick, bpm))
            elif kind == "time_signature":
                time_sigs.append((tick, msg.numerator, msg.denominator))
            elif kind == "key_signature":
                keys.append((tick, _key_number(msg.key)))
            elif kind == "track_name" and t_index not in names:
                names[t_index] = msg.name.strip()
        end_tick = max(end_tick, tick)
        for pending in open_notes.values():  # notes never switched off end with the track
            for note in pending:
                note[2] = tick

    n_notes = sum(len(v) for v in raw.values())
    if n_notes == 0:
        raise MidiError(f"{name} contains no notes.")
    if n_notes > limits.max_notes:
        raise MidiError(f"{name} has {n_notes} notes; the limit is {limits.max_notes}.")
    if all(channel == DRUM_CHANNEL for _, channel, _ in raw):
        raise MidiError(f"{name} contains only drum notes (MIDI channel 10); "
                        "pianoplay needs pitched notes.")

    tempos = _clean_events(tempos) or [(0, DEFAULT_BPM)]
    if tempos[0][0] != 0:
        tempos.insert(0, (0, DEFAULT_BPM))
    to_seconds = _tempo_map(tempos, tpq)
    duration = float(to_seconds(np.array([end_tick], dtype=float))[0])
    if duration > limits.max_seconds:
        raise MidiError(f"{name} lasts {duration / 60:.1f} minutes; the limit is "
                        f"{limits.max_seconds / 60:.0f} minutes.")

    tracks = []
    for (t_index, channel, program), notes in raw.items():
        ticks = np.array([(n[1], n[2]) for n in notes], dtype=float)
        secs = to_seconds(ticks)
        is_drum = channel == DRUM_CHANNEL
        ccs = controls.get((t_index, channel), [])
        cc_secs = to_seconds(np.array([c[0] for c in ccs], dtype=float))
        tracks.append(Track(
            name=names.get(t_index, ""), program=program, is_drum=is_drum,
            notes=[Note(n[0], n[1], n[2], float(s[0]), float(s[1]), n[3], program, is_drum)
                   for n, s in zip(notes, secs)],
            controls=[(float(t), c[1], c[2]) for t, c in zip(cc_secs, ccs)]))
    time_sigs = [ts for ts in _clean_events(time_sigs) if _valid_time_signature(ts, name)]
    return Score(ticks_per_quarter=tpq, tracks=tracks, tempos=tempos,
                 time_signatures=time_sigs, key_signatures=_clean_events(keys),
                 end_tick=end_tick, duration=duration)


def _clean_events(events: list[tuple]) -> list[tuple]:
    """Sort by tick; of several events at one tick keep the last (as sequencers do)."""
    by_tick = {}
    for event in sorted(events, key=lambda e: e[0]):
        by_tick[event[0]] = event
    return list(by_tick.values())


def _valid_time_signature(ts: tuple[int, int, int], name: str) -> bool:
    if ts[1] <= 0 or ts[2] <= 0:
        warnings.warn(f"{name}: ignoring the time signature {ts[1]}/{ts[2]}.", stacklevel=3)
        return False
    return True


def _key_number(key: str) -> int:
    """mido's key name ("Eb", "F#m") to pretty_midi's key number."""
    minor = key.endswith("m")
    root = key[:-1] if minor else key
    pc = _PITCH_CLASS[root[0]] + root[1:].count("#") - root[1:].count("b")
    return pc % 12 + (12 if minor else 0)


def _tempo_map(tempos: list[tuple[int, float]], tpq: int):
    """Function mapping tick arrays to seconds under a piecewise-constant tempo."""
    ticks = np.array([t for t, _ in tempos], dtype=float)
    sec_per_tick = np.array([60.0 / (bpm * tpq) for _, bpm in tempos])
    starts = np.concatenate([[0.0], np.cumsum(np.diff(ticks) * sec_per_tick[:-1])])

    def to_seconds(x: np.ndarray) -> np.ndarray:
        i = np.clip(np.searchsorted(ticks, x, side="right") - 1, 0, None)
        return starts[i] + (x - ticks[i]) * sec_per_tick[i]

    return to_seconds
