"""Read a MIDI file into a :class:`Score`: notes with tick and second times.

The file is parsed by :mod:`pianoplay.music.midi_read` so that note times stay exact
integer ticks (quantization in :mod:`pianoplay.music.roll` works from ticks, never
seconds). Damaged files are read as far as they can be: what was repaired is
listed in ``Score.repairs`` (and warned about); only files without usable notes
are refused. Everything that can go wrong with a user's file becomes a
:class:`~pianoplay.errors.MidiError` whose message is one sentence the user can
act on.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pianoplay.errors import MidiError
from pianoplay.music import midi_read as smf
from pianoplay.music.midi_read import RepairWarning, collect_repairs  # noqa: F401 (re-exported)

DRUM_CHANNEL = 9
DEFAULT_BPM = 120.0
ASSUMED_TICKS_PER_QUARTER = 480  # when the header's division is unusable
_SMPTE_RATES = {24: 24.0, 25: 25.0, 29: 29.97, 30: 30.0}  # frames per second


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
    repairs: list[str] = field(default_factory=list)  # damage that was read around

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
    """Parse a MIDI file, salvaging the notes of a damaged one.

    Damage that can be read around (see :func:`pianoplay.music.midi_read.read_smf`;
    also an unusable time division, a zero tempo, invalid time or key
    signatures, and a file over the duration or note limit, of which the start
    is kept) is listed in ``Score.repairs`` and warned about, one
    ``UserWarning`` per repair.

    Parameters
    ----------
    source : str, Path, bytes or pretty_midi.PrettyMIDI
        A file path, the file's bytes, or an in-memory PrettyMIDI.
    limits : MidiLimits, optional
        Size, note-count, duration and tempo bounds (default ``MidiLimits()``).

    Raises
    ------
    MidiError
        For missing, empty, too large, drum-only files, files that are not MIDI
        or hold no usable notes, and tempos outside the limits.
    """
    limits = limits or MidiLimits()
    data, name = _read_bytes(source, limits)
    try:
        parsed = smf.read_smf(data)
    except smf.NotMidiError as err:
        raise MidiError(f"{name} is not a readable MIDI file ({err}).") from None
    if parsed.format == 2:
        warnings.warn(f"{name} is a type 2 MIDI file; its tracks are read as simultaneous.",
                      stacklevel=2)
    repairs = list(parsed.repairs)
    tpq, smpte_bpm = _timing(parsed.division, repairs)
    score = _build_score(parsed.tracks, tpq, smpte_bpm, name, limits, repairs)
    smf.report_repairs(name, score.repairs)
    return score


def _timing(division: int, repairs: list[str]) -> tuple[int, float | None]:
    """Ticks per quarter note from the header's division word, and for SMPTE
    timing the fixed tempo that makes those quarters last one SMPTE second."""
    if division > 0:
        return division, None
    if division < 0:  # SMPTE: -frames per second in the high byte, ticks per frame in the low
        fps, per_frame = -(division >> 8), division & 0xFF
        if fps in _SMPTE_RATES and per_frame > 0:
            repairs.append(f"the file is timed in SMPTE frames ({fps} per second, {per_frame} "
                           "ticks each); read at 60 quarter notes per minute")
            return fps * per_frame, 60.0 * _SMPTE_RATES[fps] / fps
    repairs.append(f"the header's time division ({division}) is unusable; assumed "
                   f"{ASSUMED_TICKS_PER_QUARTER} ticks per quarter note, so the tempo may be off")
    return ASSUMED_TICKS_PER_QUARTER, None


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


def _build_score(tracks: list[list[tuple]], tpq: int, fixed_bpm: float | None, name: str,
                 limits: MidiLimits, repairs: list[str]) -> Score:
    tempos: list[tuple[int, float]] = []
    time_sigs: list[tuple[int, int, int]] = []
    keys: list[tuple[int, int]] = []
    ignored: dict[str, list[str]] = {}  # kind of meta event -> the values ignored
    raw: dict[tuple[int, int, int], list[list]] = {}  # (track, channel, program) -> notes
    names: dict[int, str] = {}
    controls: dict[tuple[int, int], list[tuple[int, int, int]]] = {}  # (track, channel)
    end_tick = 0
    for t_index, events in enumerate(tracks):
        programs = [0] * 16
        open_notes: dict[tuple[int, int], list[list]] = {}  # (channel, pitch) -> FIFO
        tick = 0
        for tick, code, a, b, c in events:
            if code == smf.NOTE_ON:
                note = [b, tick, None, c, programs[a], a]
                open_notes.setdefault((a, b), []).append(note)
                raw.setdefault((t_index, a, programs[a]), []).append(note)
            elif code == smf.NOTE_OFF:
                pending = open_notes.get((a, b))
                if pending:
                    pending.pop(0)[2] = tick
            elif code == smf.PROGRAM:
                programs[a] = b
            elif code == smf.CONTROL:
                controls.setdefault((t_index, a), []).append((tick, b, c))
            elif code == smf.TEMPO:
                bpm = 60e6 / a if a > 0 else float("inf")
                if fixed_bpm is not None:
                    pass  # SMPTE time does not follow tempo events
                elif a == 0:  # zero microseconds per quarter: damage, not a tempo
                    ignored.setdefault("tempo", []).append("0 microseconds per quarter note")
                elif limits.min_bpm <= bpm <= limits.max_bpm:
                    tempos.append((tick, bpm))
                else:
                    raise MidiError(
                        f"{name} sets a tempo of {bpm:.4g} beats per minute; tempos must lie "
                        f"between {limits.min_bpm:g} and {limits.max_bpm:g}.")
            elif code == smf.TIME_SIGNATURE:
                if a > 0 and b <= 6:  # denominators 1 to 64
                    time_sigs.append((tick, a, 2**b))
                else:
                    ignored.setdefault("time signature", []).append(
                        f"{a}/{2**b if b <= 16 else f'2^{b}'}")
            elif code == smf.KEY_SIGNATURE:
                if -7 <= a <= 7 and b in (0, 1):
                    keys.append((tick, (7 * a + 9 * b) % 12 + 12 * b))
                else:
                    ignored.setdefault("key signature", []).append(f"{a} sharps, mode {b}")
            elif code == smf.TRACK_NAME and t_index not in names:
                names[t_index] = a.strip()
        end_tick = max(end_tick, tick)
        for pending in open_notes.values():  # notes never switched off end with the track
            for note in pending:
                note[2] = tick
    for kind, values in ignored.items():
        more = f" and {len(values) - 1} more" if len(values) > 1 else ""
        repairs.append(f"ignored an invalid {kind} ({values[0]}{more})")

    n_notes = sum(len(v) for v in raw.values())
    if n_notes == 0:
        damage = f" (it is damaged: {repairs[0]})" if repairs else ""
        raise MidiError(f"{name} contains no notes{damage}.")

    if fixed_bpm is not None:
        tempos = [(0, fixed_bpm)]
    tempos = _clean_events(tempos) or [(0, DEFAULT_BPM)]
    if tempos[0][0] != 0:
        tempos.insert(0, (0, DEFAULT_BPM))
    to_seconds = _tempo_map(tempos, tpq)
    duration = float(to_seconds(np.array([end_tick], dtype=float))[0])
    if n_notes > limits.max_notes:
        n_notes = _drop_doubled(raw, n_notes, repairs)
    if duration > limits.max_seconds or n_notes > limits.max_notes:
        # keep the start of the piece, up to the limits (a damaged delta time often
        # makes a file last days; the notes before it are still good)
        end_tick = _cut(raw, controls, tempos, tpq, duration, n_notes, name, limits, repairs)
        duration = float(to_seconds(np.array([end_tick], dtype=float))[0])
        time_sigs = [e for e in time_sigs if e[0] < end_tick]
        keys = [e for e in keys if e[0] < end_tick]
    if all(channel == DRUM_CHANNEL for _, channel, _ in raw):
        raise MidiError(f"{name} contains only drum notes (MIDI channel 10); "
                        "pianoplay needs pitched notes.")

    score_tracks = []
    for (t_index, channel, program), notes in raw.items():
        ticks = np.array([(n[1], n[2]) for n in notes], dtype=float)
        secs = to_seconds(ticks)
        is_drum = channel == DRUM_CHANNEL
        ccs = controls.get((t_index, channel), [])
        cc_secs = to_seconds(np.array([c[0] for c in ccs], dtype=float))
        score_tracks.append(Track(
            name=names.get(t_index, ""), program=program, is_drum=is_drum,
            notes=[Note(n[0], n[1], n[2], float(s[0]), float(s[1]), n[3], program, is_drum)
                   for n, s in zip(notes, secs)],
            controls=[(float(t), c[1], c[2]) for t, c in zip(cc_secs, ccs)]))
    return Score(ticks_per_quarter=tpq, tracks=score_tracks, tempos=tempos,
                 time_signatures=_clean_events(time_sigs), key_signatures=_clean_events(keys),
                 end_tick=end_tick, duration=duration, repairs=repairs)


def _drop_doubled(raw: dict, n_notes: int, repairs: list[str]) -> int:
    """Over the note limit: drop, in place, notes that double another (same pitch, start and
    end, on another track or channel), which sound as one. Returns the notes left."""
    seen: set[tuple[int, int, int, bool]] = set()
    for key in list(raw):
        drum = key[1] == DRUM_CHANNEL
        notes = []
        for n in raw[key]:
            if (n[0], n[1], n[2], drum) not in seen:
                seen.add((n[0], n[1], n[2], drum))
                notes.append(n)
        if notes:
            raw[key] = notes
        else:
            del raw[key]
    if len(seen) < n_notes:
        repairs.append(f"it has {n_notes} notes, {n_notes - len(seen)} of which double "
                       "another (same pitch and time); those were dropped")
    return len(seen)


def _cut(raw: dict, controls: dict, tempos: list[tuple[int, float]], tpq: int, duration: float,
         n_notes: int, name: str, limits: MidiLimits, repairs: list[str]) -> int:
    """Drop, in place, the notes (and controllers) from the first tick that breaks the
    duration or note-count limit on; notes sounding there end there. Returns that tick."""
    cut = end = 2**62
    if duration > limits.max_seconds:
        cut = end = _tick_at(tempos, tpq, limits.max_seconds)
    if n_notes > limits.max_notes:
        starts = np.sort(np.array([n[1] for notes in raw.values() for n in notes]))
        cut = min(cut, int(starts[limits.max_notes]))
    kept = 0
    for key in list(raw):
        notes = [n for n in raw[key] if n[1] < cut]
        for n in notes:
            n[2] = min(n[2], cut)
        if notes:
            raw[key] = notes
            kept += len(notes)
        else:
            del raw[key]
    for key, events in controls.items():
        controls[key] = [e for e in events if e[0] < cut]
    tempos[:] = [t for t in tempos if t[0] < cut]
    if cut < end:
        reason = f"has {n_notes} notes; the limit is {limits.max_notes}"
    else:
        reason = f"lasts {duration / 60:.1f} minutes; the limit is {limits.max_seconds / 60:.0f}"
    if kept == 0:
        where = "its first instant alone exceeds" if cut < end else "and no note starts before"
        raise MidiError(f"{name} {reason}, {where} that.")
    seconds = float(_tempo_map(tempos, tpq)(np.array([cut], dtype=float))[0])
    repairs.append(f"it {reason}: only its first {seconds / 60:.1f} minutes were read "
                   f"({kept} of its {n_notes} notes)")
    return cut


def _tick_at(tempos: list[tuple[int, float]], tpq: int, seconds: float) -> int:
    """The last tick at or before ``seconds`` under the tempo map (inverse of ``_tempo_map``)."""
    ticks = np.array([t for t, _ in tempos], dtype=float)
    sec_per_tick = np.array([60.0 / (bpm * tpq) for _, bpm in tempos])
    starts = np.concatenate([[0.0], np.cumsum(np.diff(ticks) * sec_per_tick[:-1])])
    i = int(np.searchsorted(starts, seconds, side="right")) - 1
    return int(ticks[i] + (seconds - starts[i]) / sec_per_tick[i])


def _clean_events(events: list[tuple]) -> list[tuple]:
    """Sort by tick; of several events at one tick keep the last (as sequencers do)."""
    by_tick = {}
    for event in sorted(events, key=lambda e: e[0]):
        by_tick[event[0]] = event
    return list(by_tick.values())


def _tempo_map(tempos: list[tuple[int, float]], tpq: int):
    """Function mapping tick arrays to seconds under a piecewise-constant tempo."""
    ticks = np.array([t for t, _ in tempos], dtype=float)
    sec_per_tick = np.array([60.0 / (bpm * tpq) for _, bpm in tempos])
    starts = np.concatenate([[0.0], np.cumsum(np.diff(ticks) * sec_per_tick[:-1])])

    def to_seconds(x: np.ndarray) -> np.ndarray:
        i = np.clip(np.searchsorted(ticks, x, side="right") - 1, 0, None)
        return starts[i] + (x - ticks[i]) * sec_per_tick[i]

    return to_seconds
