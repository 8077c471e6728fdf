"""Fast Standard MIDI File writer for ``PrettyMIDI`` objects.

``PrettyMIDI.write`` builds and validates one ``mido`` message object per
event, ~13 ms for a 16-bar piece; the app writes a MIDI file for every
answer. This writes the same content (type 1: a timing track, then one track
per instrument, with pretty_midi's channel assignment) straight to bytes.
Lyrics and text events are left to ``PrettyMIDI.write``.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pretty_midi

# key_number -> (sharps/flats, minor), as pretty_midi numbers keys: 0-11 major, 12-23 minor
_MAJOR_SHARPS = [0, -5, 2, -3, 4, -1, 6, 1, -4, 3, -2, 5]  # C Db D Eb E F F# G Ab A Bb B
_MINOR_SHARPS = [
    -3,
    4,
    -1,
    6,
    1,
    -4,
    3,
    -2,
    5,
    0,
    -5,
    2,
]  # Cm C#m Dm D#m Em Fm F#m Gm G#m Am Bbm Bm
# at one tick: timing meta first, then program, bends, controllers, note-offs, note-ons
_TEMPO, _TIMESIG, _KEYSIG, _NAME, _PROGRAM, _BEND, _CC, _OFF, _ON = range(9)


def write_midi(pm: pretty_midi.PrettyMIDI, path: str | Path) -> Path:
    """Write ``pm`` to ``path`` (what ``pm.write`` writes, ~10x faster)."""
    path = Path(path)
    if pm.lyrics or pm.text_events:
        pm.write(str(path))
        return path
    tracks = [_timing_track(pm)]
    melodic = [c for c in range(16) if c != 9]
    for n, inst in enumerate(pm.instruments):
        channel = 9 if inst.is_drum else melodic[n % len(melodic)]
        tracks.append(_instrument_track(pm, inst, channel))
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), pm.resolution)
    path.write_bytes(header + b"".join(tracks))
    return path


def _ticks(pm: pretty_midi.PrettyMIDI, times) -> np.ndarray:
    """Nearest tick of each time in seconds, under the tempo map of ``pm``."""
    times = np.asarray(times, dtype=np.float64)
    if times.size == 0:
        return times.astype(np.int64)
    change_ticks = np.array([t for t, _ in pm._tick_scales], dtype=np.float64)
    scales = np.array([s for _, s in pm._tick_scales], dtype=np.float64)
    change_times = np.concatenate([[0.0], np.cumsum(np.diff(change_ticks) * scales[:-1])])
    k = np.searchsorted(change_times, times, side="right") - 1
    k = np.clip(k, 0, len(scales) - 1)
    ticks = change_ticks[k] + (times - change_times[k]) / scales[k]
    return np.round(ticks).astype(np.int64)


def _timing_track(pm: pretty_midi.PrettyMIDI) -> bytes:
    events = []  # (tick, order, bytes)
    sigs = pm.time_signature_changes
    if not sigs or min(ts.time for ts in sigs) > 0.0:
        events.append((0, _TIMESIG, _meta(0x58, bytes([4, 2, 24, 8]))))
    for tick, scale in pm._tick_scales:
        tempo = int(6e7 / (60.0 / (scale * pm.resolution)))  # microseconds per quarter
        events.append((tick, _TEMPO, _meta(0x51, tempo.to_bytes(3, "big"))))
    for ts, tick in zip(sigs, _ticks(pm, [ts.time for ts in sigs])):
        denominator = int(np.log2(ts.denominator))
        body = bytes([ts.numerator, denominator, 24, 8])
        events.append((int(tick), _TIMESIG, _meta(0x58, body)))
    keys = pm.key_signature_changes
    for ks, tick in zip(keys, _ticks(pm, [ks.time for ks in keys])):
        minor = ks.key_number >= 12
        sharps = (_MINOR_SHARPS if minor else _MAJOR_SHARPS)[ks.key_number % 12]
        events.append((int(tick), _KEYSIG, _meta(0x59, struct.pack(">bB", sharps, int(minor)))))
    return _track(events)


def _instrument_track(pm, inst: pretty_midi.Instrument, channel: int) -> bytes:
    events = []
    if inst.name:
        events.append((0, _NAME, _meta(0x03, inst.name.encode("latin-1", "replace"))))
    events.append((0, _PROGRAM, bytes([0xC0 | channel, inst.program & 0x7F])))
    notes = inst.notes
    starts = _ticks(pm, [n.start for n in notes])
    ends = _ticks(pm, [n.end for n in notes])
    on, off = 0x90 | channel, 0x80 | channel
    for note, start, end in zip(notes, starts.tolist(), ends.tolist()):
        pitch = note.pitch & 0x7F
        events.append((start, _ON, bytes([on, pitch, note.velocity & 0x7F])))
        events.append((end, _OFF, bytes([off, pitch, 0])))
    bends = inst.pitch_bends
    for bend, tick in zip(bends, _ticks(pm, [b.time for b in bends]).tolist()):
        value = int(bend.pitch) + 8192
        events.append((tick, _BEND, bytes([0xE0 | channel, value & 0x7F, (value >> 7) & 0x7F])))
    ccs = inst.control_changes
    for cc, tick in zip(ccs, _ticks(pm, [c.time for c in ccs]).tolist()):
        events.append((tick, _CC, bytes([0xB0 | channel, cc.number & 0x7F, cc.value & 0x7F])))
    return _track(events)


def _meta(kind: int, body: bytes) -> bytes:
    return bytes([0xFF, kind]) + _varlen(len(body)) + body


def _varlen(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _track(events: list[tuple[int, int, bytes]]) -> bytes:
    events.sort(key=lambda e: (e[0], e[1]))
    body = bytearray()
    last = 0
    for tick, _, message in events:
        body += _varlen(tick - last)
        body += message
        last = tick
    body += b"\x01\xff\x2f\x00"  # end of track one tick after the last event (as pretty_midi)
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)
