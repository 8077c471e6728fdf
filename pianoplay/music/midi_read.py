"""A tolerant Standard MIDI File reader: the events pianoplay uses, and what it had to repair.

Files from the web are often damaged: cut off in the middle of a track, with a
flipped bit in a data byte or a chunk length, or with a header that announces
more tracks than follow. :func:`read_smf` reads what can be read and lists each
repair as a sentence, so that :func:`pianoplay.music.midi.load_midi` can keep the
notes and refuse only files that hold none. The counterpart of
:mod:`pianoplay.music.midi_write`.

Events are tuples ``(tick, code, a, b, c)`` with absolute ticks:

- ``NOTE_ON`` / ``NOTE_OFF``: ``(channel, pitch, velocity)``
- ``CONTROL``: ``(channel, controller, value)``; ``PROGRAM``: ``(channel, program, 0)``
- ``TEMPO``: ``(microseconds per quarter, 0, 0)``
- ``TIME_SIGNATURE``: ``(numerator, log2 of the denominator, 0)``
- ``KEY_SIGNATURE``: ``(sharps, minor, 0)``, sharps signed (-7..7 when valid)
- ``TRACK_NAME``: ``(text, 0, 0)``
- ``END``: ``(0, 0, 0)``, always the last event of a track: the tick of its last event
  of any kind (end of track, or where a damaged track stops)

Other events (pitch bend, aftertouch, system exclusive, other meta events) are
skipped.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

NOTE_OFF, NOTE_ON, CONTROL, PROGRAM = 0x80, 0x90, 0xB0, 0xC0
TEMPO, TIME_SIGNATURE, KEY_SIGNATURE, TRACK_NAME, END = 0x151, 0x158, 0x159, 0x103, 0x12F
_DATA_BYTES = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}
# system common / real-time bytes inside a track (invalid there, but their length is known)
_SYSTEM_BYTES = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF6: 0, 0xF8: 0, 0xF9: 0, 0xFA: 0, 0xFB: 0,
                 0xFC: 0, 0xFD: 0, 0xFE: 0}
_TRACK_LIMIT = 65_536  # more chunks than a 16-bit header can announce: stop looking


class NotMidiError(ValueError):
    """The bytes are not a Standard MIDI File at all (no usable header)."""


class RepairWarning(UserWarning):
    """What :func:`~pianoplay.music.midi.load_midi` read around in a damaged or over-long file."""


# Where load_midi also reports its repairs while :func:`collect_repairs` is open: one
# list per thread and task (the app serves users from worker threads at once).
_REPAIRS: ContextVar[list[str] | None] = ContextVar("pianoplay_repairs", default=None)


@contextmanager
def collect_repairs() -> Iterator[list[str]]:
    """``with collect_repairs() as notes:`` every file read inside the block adds one
    sentence to ``notes`` per repair ("greensleeves.mid: track 3 is cut off: ...; its
    first 85 events are kept"), so an interface can show the user what was changed."""
    notes: list[str] = []
    token = _REPAIRS.set(notes)
    try:
        yield notes
    finally:
        _REPAIRS.reset(token)


def report_repairs(name: str, repairs: list[str]) -> None:
    """Warn about each repair of file ``name``, and add it to an open :func:`collect_repairs`."""
    sink = _REPAIRS.get()
    for repair in repairs:
        warnings.warn(f"{name}: {repair}.", RepairWarning, stacklevel=3)
        if sink is not None:
            sink.append(f"{name}: {repair}.")


@dataclass
class SmfFile:
    format: int  # 0, 1 or 2
    division: int  # the header's signed 16-bit division word (negative: SMPTE)
    tracks: list[list[tuple]]  # events of each track chunk, in file order
    repairs: list[str] = field(default_factory=list)  # what was damaged, one sentence each


def read_smf(data: bytes) -> SmfFile:
    """Read the events of every track; damage is repaired where possible and noted.

    Repairs: data bytes above 127 are clipped to 127; a track that is cut off
    (the file ends, or an event is damaged) keeps the events before the damage;
    a track whose length field is wrong is read to its end-of-track event or
    the next track; garbage between chunks is skipped; a damaged header tag or
    length followed by tracks is read as the standard 6-byte header.

    Raises
    ------
    NotMidiError
        When no MIDI header can be found.
    """
    repairs: list[str] = []
    head = _find_header(data, repairs)
    length, fmt, n_declared, division = struct.unpack(">IHHh", data[head + 4 : head + 14])
    pos = head + 8 + length
    if length != 6 and not _at_chunk(data, pos):
        repairs.append(f"the header gives its length as {length} bytes instead of 6")
        pos = head + 14
    if fmt > 2:
        repairs.append(f"the header gives format {fmt}; read as format 1")
        fmt = 1
    tracks: list[list[tuple]] = []
    skipped = 0
    cut_off = False
    while pos + 8 <= len(data) and len(tracks) < _TRACK_LIMIT:
        tag = data[pos : pos + 4]
        if tag != b"MTrk":
            if _at_chunk(data, pos):  # a chunk of another kind: skip it, as the standard says
                pos += 8 + struct.unpack(">I", data[pos + 4 : pos + 8])[0]
                continue
            found = data.find(b"MTrk", pos + 1)
            skipped += (found if found >= 0 else len(data)) - pos
            if found < 0:
                break
            pos = found
            continue
        name = f"track {len(tracks) + 1}"
        size = struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        start = pos + 8
        declared_end = start + size
        end = declared_end
        if not (declared_end == len(data) or _at_chunk(data, declared_end)):
            following = data.find(b"MTrk", start)  # read up to the next track at most
            end = following if following >= 0 else len(data)
        events, stop, eot, problem, clipped = _read_track(data, start, end)
        tracks.append(events)
        if clipped:
            repairs.append(f"{name}: {clipped} events had data bytes above 127 (clipped to 127)")
        if declared_end > len(data) and not eot and end == len(data):
            cut_off = True
            repairs.append(f"{name} is cut off: the file ends {declared_end - len(data)} bytes "
                           f"early; its first {len(events) - 1} events are kept")
        elif problem:
            repairs.append(f"{name} is damaged ({problem}); its first {len(events) - 1} "
                           "events are kept")
        elif stop > declared_end or (declared_end > end and eot):
            repairs.append(f"{name} gives its length as {size} bytes; it was read to its "
                           "end-of-track event")
        following = data.find(b"MTrk", stop, end) if eot else -1
        pos = following if following >= 0 else end
        if eot and declared_end < pos:  # bytes after the track's end that belong to none
            skipped += pos - max(declared_end, stop)
    if len(tracks) >= _TRACK_LIMIT and pos + 8 <= len(data):
        repairs.append(f"only the first {_TRACK_LIMIT} tracks were read")
    if skipped:
        repairs.append(f"{skipped} bytes between chunks belong to no track and were skipped")
    if len(tracks) != n_declared and not (cut_off and len(tracks) < n_declared):
        repairs.append(f"the header announces {n_declared} tracks; the file holds {len(tracks)}")
    return SmfFile(format=fmt, division=division, tracks=tracks, repairs=repairs)


def _find_header(data: bytes, repairs: list[str]) -> int:
    if data[:4] == b"MThd" and len(data) >= 14:
        return 0
    found = data.find(b"MThd", 0, 4096)  # e.g. inside a RIFF RMID wrapper
    if found > 0 and len(data) >= found + 14:
        return found
    if len(data) >= 22 and data[14:18] == b"MTrk" and sum(
            a != b for a, b in zip(data[:4], b"MThd")) <= 2:
        repairs.append(f"the header's MThd tag is damaged ({data[:4]!r})")
        return 0
    if data[:4] == b"MThd":
        raise NotMidiError("it ends inside its header")
    raise NotMidiError("no MIDI header (MThd) at its start")


def _at_chunk(data: bytes, pos: int) -> bool:
    """Whether a chunk header (four letters and a length that fits the file) starts at ``pos``."""
    if pos < 0 or pos + 8 > len(data):
        return False
    tag = data[pos : pos + 4]
    return tag == b"MTrk" or (tag.isalpha() and pos + 8 + struct.unpack(
        ">I", data[pos + 4 : pos + 8])[0] <= len(data))


def _read_track(data: bytes, pos: int, end: int) -> tuple[list[tuple], int, bool, str, int]:
    """Events of the track in ``data[pos:end]``, where reading stopped, whether it
    stopped at an end-of-track event, what was damaged ("" if nothing) and how many
    events had data bytes above 127."""
    events: list[tuple] = []
    append = events.append
    tick = 0
    running = 0  # running status; 0 = none yet
    clipped = 0
    problem = ""
    eot = False
    while pos < end:
        # delta time: a variable-length quantity of at most 4 bytes
        delta = 0
        for _ in range(4):
            if pos >= end:
                break
            byte = data[pos]
            pos += 1
            delta = (delta << 7) | (byte & 0x7F)
            if byte < 0x80:
                break
        else:
            problem = "a delta time longer than 4 bytes"
            break
        if pos >= end:
            if data[pos - 1] >= 0x80:
                problem = "it ends inside a delta time"
            break
        tick += delta
        status = data[pos]
        if status >= 0x80:
            pos += 1
        elif running:
            status = running  # running status: the byte read is the first data byte
        else:
            problem = f"a data byte 0x{status:02x} where an event should start"
            break
        if status < 0xF0:
            n = _DATA_BYTES[status & 0xF0]
            if pos + n > end:
                problem = "it ends inside an event"
                break
            a = data[pos]
            b = data[pos + 1] if n == 2 else 0
            pos += n
            if a > 127 or b > 127:
                clipped += 1
                a, b = min(a, 127), min(b, 127)
            running = status
            kind, channel = status & 0xF0, status & 0x0F
            if kind == 0x90:
                append((tick, NOTE_ON if b else NOTE_OFF, channel, a, b))
            elif kind == 0x80:
                append((tick, NOTE_OFF, channel, a, b))
            elif kind == 0xB0:
                append((tick, CONTROL, channel, a, b))
            elif kind == 0xC0:
                append((tick, PROGRAM, channel, a, 0))
        elif status == 0xFF:
            if pos >= end:
                problem = "it ends inside a meta event"
                break
            meta = data[pos]
            length, pos = _vlq(data, pos + 1, end)
            if length < 0 or pos + length > end:
                problem = "a meta event runs past the end of the track"
                break
            body = data[pos : pos + length]
            pos += length
            if meta == 0x2F:
                eot = True
                break
            if meta == 0x51 and length >= 3:
                append((tick, TEMPO, (body[0] << 16) | (body[1] << 8) | body[2], 0, 0))
            elif meta == 0x58 and length >= 2:
                append((tick, TIME_SIGNATURE, body[0], body[1], 0))
            elif meta == 0x59 and length >= 2:
                append((tick, KEY_SIGNATURE, body[0] - 256 * (body[0] > 127), body[1], 0))
            elif meta == 0x03:
                append((tick, TRACK_NAME, body.decode("latin-1"), 0, 0))
        elif status in (0xF0, 0xF7):
            length, pos = _vlq(data, pos, end)
            if length < 0 or pos + length > end:
                problem = "a system exclusive message runs past the end of the track"
                break
            pos += length
        elif status in _SYSTEM_BYTES:
            pos += _SYSTEM_BYTES[status]
        else:
            problem = f"an undefined status byte 0x{status:02x}"
            break
    if problem:  # the tick of the damaged event is not to be trusted
        tick = events[-1][0] if events else 0
    append((tick, END, 0, 0, 0))
    return events, pos, eot, problem, clipped


def _vlq(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """A variable-length quantity at ``pos``: (value, next position), value -1 if invalid."""
    value = 0
    for _ in range(4):
        if pos >= end:
            return -1, pos
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos
    return -1, pos
