"""Offline audio: FluidSynth rendering of MIDI, soundfont discovery, WAV files.

FluidSynth (``libfluidsynth3``) and a General MIDI soundfont are native
dependencies; they are looked up when rendering is asked for, not at import,
and their absence is a ``SoundfontError`` that says what to install.

Rendering drives the synthesizer directly (note and controller events at
sample-exact times, ``get_samples`` between them), so no audio device and no
real-time MIDI player are involved.
"""

from __future__ import annotations

import itertools
import os
import threading
import wave
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pretty_midi

from pianoplay.errors import SoundfontError
from pianoplay.paths import SOUNDFONTS_DIR

SYSTEM_SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/local/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
)
INSTALL_HINT = (
    "install one with `sudo apt-get install timgm6mb-soundfont` (or fluid-soundfont-gm), "
    "put a .sf2 file in soundfonts/, or set PIANOPLAY_SOUNDFONT=/path/to/file.sf2"
)
TAIL_SECONDS = 1.0  # let the last notes ring out
MAX_WORKERS = 4  # synths rendering one piece side by side
CHUNK_SECONDS = 6.0  # shortest chunk worth a synth of its own
RING_SECONDS = 1.5  # how long a released note rings (dry); chunks overlap by this
RING_SECONDS_WET = 3.0  # with reverb
_FLUID_BLOCK = 64  # FluidSynth's internal block (FLUID_BUFSIZE)


def find_soundfont(explicit: str | Path | None = None) -> Path:
    """The General MIDI soundfont to use.

    Looks at, in order: ``explicit``, ``$PIANOPLAY_SOUNDFONT``, ``soundfonts/*.sf2``
    in the repository, then the standard system paths.
    """
    for candidate, origin in (
        (explicit, "--soundfont"),
        (os.environ.get("PIANOPLAY_SOUNDFONT"), "PIANOPLAY_SOUNDFONT"),
    ):
        if candidate:
            path = Path(candidate)
            if not path.is_file():
                raise SoundfontError(f"soundfont {path} (from {origin}) does not exist.")
            return path
    bundled = sorted(SOUNDFONTS_DIR.glob("*.sf2")) if SOUNDFONTS_DIR.is_dir() else []
    # then any other .sf2 in those folders (what scripts/setup_system.sh accepts)
    folders = dict.fromkeys(Path(p).parent for p in SYSTEM_SOUNDFONTS)
    others = [sf2 for folder in folders if folder.is_dir() for sf2 in sorted(folder.glob("*.sf2"))]
    for path in [*bundled, *map(Path, SYSTEM_SOUNDFONTS), *others]:
        if path.is_file():
            return path
    raise SoundfontError(f"no General MIDI soundfont found; {INSTALL_HINT}.")


def _import_fluidsynth():
    try:
        import fluidsynth
    except (ImportError, OSError) as err:
        raise SoundfontError(
            "FluidSynth is not available "
            f"({err}); install it with `sudo apt-get install libfluidsynth3` "
            "(macOS: `brew install fluid-synth`) and `pip install pyfluidsynth`."
        ) from None
    return fluidsynth


_FLUID_ERROR, _FLUID_WARN, _FLUID_INFO, _FLUID_DBG = 1, 2, 3, 4  # fluid_log_level
_fluid_errors: list[str] = []  # FluidSynth errors since the last soundfont load (first 8)
_fluid_log_quiet = False
_on_fluid_error = None  # the ctypes callback, kept alive while FluidSynth holds it


def _quiet_fluidsynth(fluidsynth) -> None:
    """Keep FluidSynth's log off stderr: warnings, info and debug are dropped
    (some soundfonts draw a dozen "Modulator ..." warnings per load), errors
    are kept for the message of the ``SoundfontError`` they lead to."""
    global _fluid_log_quiet, _on_fluid_error
    if _fluid_log_quiet:
        return
    from ctypes import CFUNCTYPE, c_char_p, c_int, c_void_p

    log_function = CFUNCTYPE(None, c_int, c_char_p, c_void_p)

    def on_error(level, message, data):
        if len(_fluid_errors) < 8:
            _fluid_errors.append((message or b"").decode("utf-8", "replace").strip())

    _on_fluid_error = log_function(on_error)
    set_log = fluidsynth._fl.fluid_set_log_function
    set_log.argtypes = (c_int, log_function, c_void_p)
    set_log.restype = c_void_p
    for level in (_FLUID_WARN, _FLUID_INFO, _FLUID_DBG):
        set_log(level, log_function(), None)  # NULL: this level is not logged
    set_log(_FLUID_ERROR, _on_fluid_error, None)
    _fluid_log_quiet = True


def _is_soundfont2(path: Path) -> bool:
    """A SoundFont 2 file is a RIFF file of form ``sfbk``."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return head[:4] == b"RIFF" and head[8:12] == b"sfbk"


def _write_float(fluidsynth):
    """``fluid_synth_write_float``: float output, no dither, no per-call copy
    (pyfluidsynth's ``get_samples`` only offers dithered int16)."""
    from ctypes import c_int, c_void_p

    return fluidsynth.cfunc(
        "fluid_synth_write_float", c_int,
        ("synth", c_void_p, 1), ("len", c_int, 1),
        ("lout", c_void_p, 1), ("loff", c_int, 1), ("lincr", c_int, 1),
        ("rout", c_void_p, 1), ("roff", c_int, 1), ("rincr", c_int, 1),
    )  # fmt: skip


class _Synth:
    """One loaded FluidSynth instance (used by one thread at a time, see ``_SynthPool``)."""

    def __init__(self, soundfont: Path, sample_rate: int, effects: bool) -> None:
        fluidsynth = _import_fluidsynth()
        with _POOLS_LOCK:
            _quiet_fluidsynth(fluidsynth)
        if not _is_soundfont2(soundfont):
            raise SoundfontError(f"FluidSynth could not load the soundfont {soundfont}: "
                                 "it is not a SoundFont 2 (.sf2) file.")
        # int 0/1: FluidSynth rejects the strings "no"/"yes" for these.
        # One core per synth: render() runs synths side by side on chunks instead,
        # which scales better than FluidSynth's own voice threads.
        switches = {"synth.reverb.active": int(effects), "synth.chorus.active": int(effects),
                    "synth.cpu-cores": 1}  # fmt: skip
        self.synth = fluidsynth.Synth(gain=0.5, samplerate=float(sample_rate), **switches)
        _fluid_errors.clear()
        self.sfid = self.synth.sfload(str(soundfont), update_midi_preset=1)
        if self.sfid == -1:
            self.synth.delete()
            reason = f" ({_fluid_errors[0]})" if _fluid_errors else ""  # the first is the cause
            raise SoundfontError(f"FluidSynth could not load the soundfont {soundfont}{reason}.")
        self._write = _write_float(fluidsynth)

    def render(
        self, events: list[tuple[int, int, int, int, int]], out: np.ndarray, start: int
    ) -> None:
        """Play ``events`` (sample, kind, channel, a, b; sorted; kind 0 off, 1 cc, 2 on,
        3 program) into ``out`` (N, 2) float32 C-contiguous, which holds samples
        ``start .. start + N``; events before ``start`` are played at ``start``."""
        s = self.synth
        # Silence what still rings from the last render (a chunk stops mid-piece):
        # all-sounds-off takes effect on the next block, so render one.
        s.all_sounds_off(-1)
        self._fill(np.empty((_FLUID_BLOCK, 2), np.float32), 0, _FLUID_BLOCK)
        s.system_reset()
        n = len(out)
        pos = 0
        for when, kind, chan, a, b in events:
            if when - start >= n:
                # later events would only pile up in FluidSynth's event queue
                # (it overflows) and sound at the start of the next render
                break
            pos = self._fill(out, pos, max(when - start, 0))
            if kind == 0:
                s.noteoff(chan, a)
            elif kind == 1:
                s.cc(chan, a, b)
            elif kind == 2:
                s.noteon(chan, a, b)
            elif kind == 3:
                s.program_select(chan, self.sfid, a, b)
        self._fill(out, pos, n)
        # FluidSynth computes 64-sample blocks and starts events on the next one;
        # finishing the last block makes the next render start on a boundary
        # too, so a render does not depend on the one before it.
        if n % _FLUID_BLOCK:
            self._fill(np.empty((_FLUID_BLOCK, 2), np.float32), n % _FLUID_BLOCK, _FLUID_BLOCK)

    def _fill(self, out: np.ndarray, pos: int, until: int) -> int:
        if until > pos:  # left and right interleaved straight into ``out``
            addr = out.ctypes.data + pos * out.strides[0]
            self._write(self.synth.synth, until - pos, addr, 0, 2, addr, 1, 2)
        return max(pos, until)


class _SynthPool:
    """Loaded synths for one (soundfont, rate, effects); each is lent to one thread at a time."""

    def __init__(self, soundfont: Path, sample_rate: int, effects: bool) -> None:
        self.args = (soundfont, sample_rate, effects)
        self.free: list[_Synth] = []
        self.lock = threading.Lock()

    @contextmanager
    def synth(self):
        with self.lock:
            synth = self.free.pop() if self.free else None
        if synth is None:
            synth = _Synth(*self.args)  # loading a GM soundfont takes ~50 ms, once per synth
        try:
            yield synth
        finally:
            with self.lock:
                self.free.append(synth)


_POOLS: dict[tuple[str, int, bool], _SynthPool] = {}
_POOLS_LOCK = threading.Lock()
_EXECUTOR: ThreadPoolExecutor | None = None


def _pool(soundfont: Path, sample_rate: int, effects: bool) -> _SynthPool:
    key = (str(soundfont.resolve()), sample_rate, effects)
    with _POOLS_LOCK:
        if key not in _POOLS:
            _POOLS[key] = _SynthPool(soundfont, sample_rate, effects)
        return _POOLS[key]


def _executor() -> ThreadPoolExecutor:
    global _EXECUTOR
    with _POOLS_LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="render")
        return _EXECUTOR


def _events(pm: pretty_midi.PrettyMIDI, sample_rate: int, program: int | None) -> list[tuple]:
    """Synth events sorted by time; drums on channel 9 (GM), others on 0-15 minus 9."""
    events = []
    melodic = [c for c in range(16) if c != 9]
    for i, inst in enumerate(pm.instruments):
        chan = 9 if inst.is_drum else melodic[i % len(melodic)]
        bank = 128 if inst.is_drum else 0
        prog = inst.program if (program is None or inst.is_drum) else program
        events.append((0, 3, chan, bank, prog))
        for note in inst.notes:
            start = int(round(note.start * sample_rate))
            end = max(start + 1, int(round(note.end * sample_rate)))
            events.append((start, 2, chan, note.pitch, max(1, min(127, note.velocity))))
            events.append((end, 0, chan, note.pitch, 0))
        for cc in inst.control_changes:
            if cc.number in (7, 10, 11, 64, 66, 67):  # volume, pan, expression, pedals
                events.append((int(round(cc.time * sample_rate)), 1, chan, cc.number, cc.value))
    # at equal times: program first, then note-offs, controllers, note-ons
    events.sort(key=lambda e: (e[0], {3: 0, 0: 1, 1: 2, 2: 3}[e[1]]))
    return events


def plan_chunks(
    notes: list[tuple[int, int]], n_samples: int, n_chunks: int, ring: int
) -> list[tuple[int, int, int]]:
    """Where each of ``n_chunks`` synths renders so that, glued, they sound like one.

    Chunk k keeps samples ``[keep, stop)`` but starts playing at ``begin <= keep``:
    early enough that every note still sounding at ``keep`` (or ending less than
    ``ring`` samples before it, so its release still rings) starts inside the
    chunk. Notes starting before ``begin`` have died away by ``keep`` and are
    skipped. ``notes`` are (start, end) sample pairs.

    Returns
    -------
    list of (begin, keep, stop), keep/stop contiguous over [0, n_samples)
    """
    # every chunk after the first also plays about ``ring`` of lead-in: give it less to keep
    work = (n_samples + (n_chunks - 1) * ring) / n_chunks  # samples each synth renders
    step = work - ring  # kept by each chunk after the first
    if step < ring:  # short piece: plain equal parts
        work = step = n_samples / n_chunks
    bounds = [0] + [round(work + (k - 1) * step) for k in range(1, n_chunks)]
    bounds.append(n_samples)
    plan = []
    for keep, stop in itertools.pairwise(bounds):
        begin = max(0, keep - ring)
        for start, end in notes:
            if start < keep and end > keep - ring:
                begin = min(begin, start)
        # on FluidSynth's block grid, so that events land where one synth puts them
        plan.append((begin - begin % _FLUID_BLOCK, keep, stop))
    return plan


def _render_chunk(
    pool: _SynthPool, events: list[tuple], out: np.ndarray, begin: int, keep: int
) -> None:
    """Render samples ``[keep, keep + len(out))`` into ``out``, playing from ``begin``."""
    if begin:  # notes starting before ``begin`` have died away; controllers and programs are state
        events = [e for e in events if e[0] >= begin or e[1] in (1, 3)]
    # with a lead-in, render it too and keep only what follows it
    target = out if begin == keep else np.empty((len(out) + keep - begin, 2), np.float32)
    with pool.synth() as synth:
        synth.render(events, target, begin)
    if target is not out:
        out[:] = target[keep - begin :]


def render(
    midi: pretty_midi.PrettyMIDI | str | Path,
    sample_rate: int = 44100,
    soundfont: str | Path | None = None,
    program: int | None = None,
    effects: bool = True,
    mono: bool = False,
    workers: int | None = None,
) -> np.ndarray:
    """Render MIDI to audio.

    Parameters
    ----------
    midi : PrettyMIDI or path
        What to play. A path is read with :func:`pianoplay.music.midi.load_midi`
        so bad files raise ``MidiError``.
    sample_rate : int, default 44100
    soundfont : path, optional
        A General MIDI ``.sf2``; default :func:`find_soundfont`.
    program : int, optional
        General MIDI program (0-127) for every non-drum instrument,
        overriding the file's programs.
    effects : bool, default True
        Reverb and chorus. Off renders about 1.7x faster (the app's live
        previews use that).
    mono : bool, default False
        Mix left and right down to one channel.
    workers : int, optional
        Synths rendering consecutive chunks of a long piece side by side
        (default: one per CPU core, at most ``MAX_WORKERS``; pieces shorter
        than ``2 * CHUNK_SECONDS`` use one). The chunks overlap so that notes
        and their release carry over; the result matches a single synth up to
        sound that rings longer than the overlap (a note the sustain pedal holds
        counts as sounding until the pedal is lifted).

    Returns
    -------
    np.ndarray
        (N, 2) int16 stereo, or (N,) with ``mono``; N = ceil((end_time + 1 s) * sample_rate).
    """
    if not isinstance(midi, pretty_midi.PrettyMIDI):
        from pianoplay.music.midi import load_midi

        midi = load_midi(midi).to_pretty_midi()
    if program is not None and not 0 <= int(program) <= 127:
        raise ValueError(f"program must be a General MIDI program 0-127, not {program}.")
    sample_rate = int(sample_rate)
    pool = _pool(find_soundfont(soundfont), sample_rate, bool(effects))
    events = _events(midi, sample_rate, program)
    n_samples = int(np.ceil((midi.get_end_time() + TAIL_SECONDS) * sample_rate))
    workers = workers or min(os.cpu_count() or 1, MAX_WORKERS)
    n_chunks = max(1, min(workers, int(n_samples / sample_rate // CHUNK_SECONDS)))
    audio = np.empty((n_samples, 2), dtype=np.float32)
    if n_chunks == 1:
        _render_chunk(pool, events, audio, 0, 0)
    else:
        notes = _held_by_pedal(_note_spans(events), events)
        ring = int((RING_SECONDS_WET if effects else RING_SECONDS) * sample_rate)
        plan = plan_chunks(notes, n_samples, n_chunks, ring)
        jobs = [
            _executor().submit(_render_chunk, pool, events, audio[keep:stop], begin, keep)
            for begin, keep, stop in plan[1:]
        ]
        begin, keep, stop = plan[0]
        _render_chunk(pool, events, audio[keep:stop], begin, keep)
        for job in jobs:
            job.result()
    if mono:  # (a[:, 0] + a[:, 1]): numpy's sum over a length-2 axis is ~10x slower
        audio = np.add(audio[:, 0], audio[:, 1])
        audio *= 0.5
    return _to_int16(audio)


def _note_spans(events: list[tuple]) -> list[tuple[int, int]]:
    """(start, end) samples of every note in sorted ``events``."""
    sounding: dict[tuple[int, int], list[int]] = {}
    spans = []
    for when, kind, chan, pitch, _ in events:
        if kind == 2:
            sounding.setdefault((chan, pitch), []).append(when)
        elif kind == 0 and sounding.get((chan, pitch)):
            spans.append((sounding[(chan, pitch)].pop(0), when))
    return spans


def _held_by_pedal(spans: list[tuple[int, int]], events: list[tuple]) -> list[tuple[int, int]]:
    """Note spans with each end moved to the lift of a sustain (64) or sostenuto (66) pedal
    that is down when the note is released (on any channel: conservative), so that chunks
    start early enough for notes the pedal holds."""
    down_at: dict[int, int] = {}
    downs = []
    for when, kind, chan, number, value in events:
        if kind == 1 and number in (64, 66):
            if value >= 64:
                down_at.setdefault(chan, when)
            elif chan in down_at:
                downs.append((down_at.pop(chan), when))
    downs += [(at, events[-1][0]) for at in down_at.values()]
    if not downs:
        return spans
    merged = []  # union of the channels' pedal-down spans
    for a, b in sorted(downs):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    downs = merged
    starts = np.array([a for a, _ in downs])
    ends = np.array([b for _, b in downs])
    out = []
    for start, end in spans:
        k = int(np.searchsorted(starts, end, side="right")) - 1
        out.append((start, max(end, int(ends[k])) if k >= 0 and end < ends[k] else end))
    return out


def _to_int16(audio: np.ndarray, peak: float = 0.89, max_gain: float = 8.0) -> np.ndarray:
    """Float audio (full scale 1.0) to int16, quiet renders scaled up to ``peak``
    of full scale (at most ``max_gain``x): General MIDI soundfonts are mixed for
    many simultaneous voices and sound faint for a solo piano line."""
    current = max(float(audio.max(initial=0.0)), -float(audio.min(initial=0.0)))
    gain = 1.0
    if current * 32767 >= 64:  # not silence
        gain = min(max_gain, max(1.0, peak / current))
    audio *= gain * 32767
    np.clip(audio, -32768, 32767, out=audio)
    return audio.astype(np.int16)


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int = 44100) -> Path:
    """Write an (N, channels) or (N,) int16 array as a PCM WAV file."""
    audio = np.asarray(audio)
    if audio.dtype != np.int16:
        raise ValueError(f"write_wav expects int16 samples, got {audio.dtype}.")
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    path = Path(path)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(2)
        f.setframerate(int(sample_rate))
        f.writeframes(np.ascontiguousarray(audio).tobytes())
    return path


def set_tempo(pm: pretty_midi.PrettyMIDI, bpm: float) -> pretty_midi.PrettyMIDI:
    """Re-time ``pm`` in place so its first tempo becomes ``bpm`` (later changes scale too)."""
    if not 10 <= bpm <= 400:
        raise ValueError(f"tempo must be between 10 and 400 bpm, not {bpm}.")
    _, tempi = pm.get_tempo_changes()
    current = float(tempi[0]) if len(tempi) else 120.0
    end = pm.get_end_time()
    if end > 0:
        scale = current / bpm
        pm.adjust_times([0.0, end], [0.0, end * scale])
    return pm
