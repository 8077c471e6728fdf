"""Play a score: a trained performer sets every note's velocity and writes the sustain pedal.

    from pianoplay.models.performer import load_performer, perform
    perform(pm, load_performer())        # pm (PrettyMIDI) now has velocities and CC64

The pedal is written as CC64 on every pitched instrument's channel: a run of down steps is
pressed a 32nd after its first step's onset and lifted at the end of its last step; a change
inside a run lifts the pedal at the new step's onset and presses it again a 32nd later
(legato pedalling). Every press has its release, and no event falls after the last note ends.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pianoplay.errors import CheckpointError
from pianoplay.models.checkpoint import load_checkpoint
from pianoplay.models.performer.calibrate import BAR_LINE, raw_outputs, spread_velocities
from pianoplay.models.performer.evaluate import decode_pedal
from pianoplay.models.performer.features import (
    SPQ,
    note_features,
    piano_notes,
    quarters_to_seconds,
    read_score,
    seconds_to_quarters,
    step_features,
)
from pianoplay.models.performer.model import Performer, PerformerConfig
from pianoplay.models.performer.targets import pedal_intervals
from pianoplay.paths import CHECKPOINTS_DIR

DEFAULT = "performer-classical"
PEDAL = 64
PRESS_DELAY = 0.5  # steps after the onset at which the pedal goes (back) down


class TrainedPerformer:
    """A performer checkpoint on the CPU, in eval mode."""

    family = "performer"

    def __init__(self, config: dict[str, Any], model: Performer, folder: Path | None = None):
        self.config = config
        self.folder = folder
        self.cfg = model.cfg
        self.model = model.eval()

    @classmethod
    def from_checkpoint(cls, folder: str | Path, device="cpu") -> TrainedPerformer:
        config, state, _ = load_checkpoint(folder, "cpu")
        if config.get("family") != "performer":
            raise CheckpointError(f"{folder} is a {config.get('family')!r} checkpoint, not a "
                                  f"performer.")
        model = Performer(PerformerConfig.from_dict(config["model"]))
        model.load_state_dict(state)
        return cls(config, model, Path(folder))

    def predict(self, score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(velocities (N,) ints 1..127, down (S,), press (S,)) for a ``ScoreNotes``."""
        steps = step_features(score)
        with torch.inference_mode():
            v, p_down, p_press = raw_outputs(self.model, note_features(score), steps)
        bars = steps[:, BAR_LINE] > 0 if self.cfg.bar_changes else None
        down, press = decode_pedal(p_down, p_press, self.cfg.down_threshold,
                                   self.cfg.press_threshold, bars)
        return spread_velocities(v, self.cfg.spread).astype(np.int64), down, press


_LOADED: dict[Path, TrainedPerformer] = {}
_LOCK = threading.Lock()


def load_performer(name_or_path: str | Path = DEFAULT) -> TrainedPerformer:
    """A performer checkpoint by name (under ``checkpoints/``) or folder, loaded once."""
    folder = Path(name_or_path)
    if not folder.is_dir():
        folder = CHECKPOINTS_DIR / str(name_or_path)
    if not (folder / "config.json").is_file():
        raise CheckpointError(f"no performer checkpoint {str(name_or_path)!r} (looked in "
                              f"{folder}); render flat or install it.")
    folder = folder.resolve()
    with _LOCK:
        if folder not in _LOADED:
            _LOADED[folder] = TrainedPerformer.from_checkpoint(folder)
        return _LOADED[folder]


def has_expression(pm) -> tuple[bool, bool]:
    """(own velocities, own pedal): more than one velocity; any CC64 event."""
    vels = {n.velocity for _, n in piano_notes(pm)}
    pedal = any(c.number == PEDAL for i in pm.instruments for c in i.control_changes)
    return len(vels) > 1, pedal


def perform(pm, performer: TrainedPerformer | None = None, keep_own: bool = False):
    """Set the velocities and the sustain pedal of ``pm`` (a ``PrettyMIDI``, changed in
    place and returned). With ``keep_own`` a file that already has velocities (more than
    one) or pedal keeps them and gets only what it lacks."""
    performer = performer or load_performer()
    own_vel, own_pedal = has_expression(pm) if keep_own else (False, False)
    if own_vel and own_pedal:
        return pm
    flat = piano_notes(pm)
    if not flat:
        return pm
    score = read_score(pm)
    vel, down, press = performer.predict(score)
    if not own_vel:
        for i, v in zip(score.order, vel):
            flat[i][1].velocity = int(v)
    if not own_pedal:
        end = max(n.end for _, n in flat)
        write_pedal(pm, down, press, end)
    return pm


def pedal_events(pm, down: np.ndarray, press: np.ndarray, end: float) -> list[tuple[float, int]]:
    """(time s, value) CC64 events of a decoded pedal, ordered, every down with its up,
    none after ``end`` (seconds)."""
    events: list[tuple[float, int]] = []
    n = len(down)
    starts = np.flatnonzero(down & press)
    if len(starts) == 0:
        return events
    run_end = np.flatnonzero(down & ~np.r_[down[1:], False]) + 1  # step after each run
    marks = sorted([(int(s), 1) for s in starts] + [(int(e), 0) for e in run_end])
    q_down = []  # (press step, lift step) in steps
    open_at = None
    for step, kind in marks:
        if kind == 1:
            if open_at is not None:
                q_down.append((open_at, step))  # a change: lift at this onset
            open_at = step + PRESS_DELAY
        elif open_at is not None:
            q_down.append((open_at, step))
            open_at = None
    if open_at is not None:
        q_down.append((open_at, n))
    q = np.array(q_down, dtype=np.float64) / SPQ
    secs = quarters_to_seconds(pm, q.ravel()).reshape(-1, 2)
    for on, off in secs:
        off = min(off, end)
        if off - on > 0.02:
            events += [(float(on), 127), (float(off), 0)]
    return events


def write_pedal(pm, down: np.ndarray, press: np.ndarray, end: float) -> None:
    """Replace the CC64 events of every pitched instrument with the decoded pedal."""
    import pretty_midi

    events = pedal_events(pm, down, press, end)
    for inst in pm.instruments:
        if inst.is_drum:
            continue
        inst.control_changes = [c for c in inst.control_changes if c.number != PEDAL]
        inst.control_changes += [pretty_midi.ControlChange(PEDAL, v, t) for t, v in events]
        inst.control_changes.sort(key=lambda c: c.time)


def keep_from(pm, source, end_quarters: float, tolerance: float = 0.125,
              resume_quarters: float | None = None, shift_quarters: float = 0.0) -> int:
    """Give ``pm``'s notes before ``end_quarters`` (score position; and from
    ``resume_quarters`` on, when given: an infill's bars after the new ones) the expression
    of the user's file ``source`` where the notes are the user's: a note of the same pitch
    starting at the same score position (within ``tolerance`` quarters) takes its velocity,
    and the pedal there is the source's (the performer's in between). Both in score time,
    so a different tempo does not matter; ``shift_quarters``: where ``pm`` starts in the
    source (a window from the file's bar 9 of 4/4: 32). What the source lacks (one velocity
    for every note: no dynamics; no CC64) stays as performed. Returns the notes matched."""
    import pretty_midi

    own_vel, own_pedal = has_expression(source)
    if not own_vel and not own_pedal:
        return 0
    regions = [(0.0, float(end_quarters))]
    if resume_quarters is not None:
        regions.append((float(resume_quarters), np.inf))
    gaps = [(hi, nxt[0]) for (_, hi), nxt in zip(regions, [*regions[1:], (np.inf, None)])
            if nxt[0] > hi]

    def kept(q: float, slack: float = 0.0) -> bool:
        return any(lo - slack <= q < hi + slack for lo, hi in regions)

    src = {}
    for _, n in piano_notes(source):
        q = float(seconds_to_quarters(source, np.array([n.start]))[0]) - shift_quarters
        if kept(q, tolerance):
            src.setdefault(n.pitch, []).append((q, n.velocity))
    matched = 0
    for _, n in piano_notes(pm):
        q = float(seconds_to_quarters(pm, np.array([n.start]))[0])
        near = [v for sq, v in src.get(n.pitch, ()) if abs(sq - q) <= tolerance] if kept(q) else []
        if near:
            matched += 1
            if own_vel:
                n.velocity = int(near[0])
    if not own_pedal:
        return matched
    end_s = max(n.end for _, n in piano_notes(pm))

    def clipped(intervals_q, spans) -> list[tuple[float, float]]:
        """Quarter-note intervals cut to ``spans``, in pm's seconds, inside the piece."""
        out = []
        for qa, qb in intervals_q:
            for lo, hi in spans:
                a, b = max(qa, lo), min(qb, hi)
                if b > a:
                    ta, tb = quarters_to_seconds(pm, np.array([a, min(b, 1e9)]))
                    if min(tb, end_s) > ta:
                        out.append((float(ta), float(min(tb, end_s))))
        return out

    own = clipped([tuple(seconds_to_quarters(source, np.array(iv)) - shift_quarters)
                   for iv in _intervals(source)], regions)
    for inst in pm.instruments:
        if inst.is_drum:
            continue
        mine = clipped([tuple(seconds_to_quarters(pm, np.array(iv))) for iv in
                        _intervals(pm, inst)], gaps)
        inst.control_changes = [c for c in inst.control_changes if c.number != PEDAL]
        for a, b in sorted(own + mine):
            inst.control_changes += [pretty_midi.ControlChange(PEDAL, 127, a),
                                     pretty_midi.ControlChange(PEDAL, 0, b)]
        inst.control_changes.sort(key=lambda c: (c.time, c.number != PEDAL or c.value >= 64))
    return matched


def _intervals(pm, inst=None) -> list[tuple[float, float]]:
    """[press, release) seconds of the sustain pedal of one instrument (or all)."""
    if inst is None:
        return [tuple(iv) for iv in pedal_intervals(pm)]
    events = sorted((c.time, c.value >= 64) for c in inst.control_changes if c.number == PEDAL)
    out, at = [], None
    for t, down in events:
        if down and at is None:
            at = t
        elif not down and at is not None:
            out.append((at, t))
            at = None
    return out


def source_midi(source):
    """A user's file (path or bytes) as ``PrettyMIDI`` with its tempo map, for
    :func:`keep_from`; a file pretty_midi cannot read goes through pianoplay's tolerant
    reader (one tempo)."""
    import io

    import pretty_midi

    try:
        data = io.BytesIO(source) if isinstance(source, bytes) else str(source)
        return pretty_midi.PrettyMIDI(data)
    except Exception:  # noqa: BLE001 - any damage: the tolerant reader salvages the notes
        from pianoplay.music.midi import load_midi

        return load_midi(source).to_pretty_midi()
