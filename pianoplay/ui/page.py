"""What every tab of the page shares: :class:`Page` (the actions, the rendering controls,
each tab's checkpoint picker, what runs when the page loads), refusals shown as messages,
queue groups and the texts several tabs use."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field

import gradio as gr

from pianoplay.errors import PianoplayError
from pianoplay.paths import ASSETS_DIR

MIDI_TYPES = [".mid", ".midi"]
SEED_INFO = "-1: a new random seed each time (the seed used is shown with the result)"
TEMPERATURE_INFO = "0: the most likely notes (a faithful model gives your file back)"
# Queue groups, each with its own workers, so a slider release (~0.2 s) never waits
# behind sampling (~0.3-1 s) or an interpolation or beam search (~1.5 s).
INTERACTIVE = dict(concurrency_id="interactive", concurrency_limit=2)
SAMPLING = dict(concurrency_id="sample", concurrency_limit=1)
LONG = dict(concurrency_id="long", concurrency_limit=1)
log = logging.getLogger("pianoplay.app")


@dataclass
class Page:
    """Handed to every tab's ``build``: ``actions`` (the app's actions), ``render`` (the
    tempo and instrument controls every rendering reads); a tab records its checkpoint
    picker in ``pickers`` (by tab id), what should run when the page opens in ``loads``
    (keyword arguments of ``Blocks.load``, or a tuple of them to run one after another),
    and what its ``after`` needs in ``shared``."""

    actions: object
    render: list
    pickers: dict[str, gr.Dropdown] = field(default_factory=dict)
    loads: list[dict] = field(default_factory=list)
    shared: dict = field(default_factory=dict)


@contextmanager
def user_errors():
    """Show library errors as a message in the page instead of a crash, and log one
    line (not a traceback: the user's input, not the server, was wrong)."""
    try:
        yield
    except PianoplayError as err:
        log.warning("refused: %s", err)
        raise gr.Error(str(err), print_exception=False) from None


def or_skip(fn, outputs: int = 1):
    """A picker's follower (``.change``) that leaves its ``outputs`` as they are while the
    typed name is not a checkpoint (the picker takes any text; the action refuses an
    unknown name in words when it runs), instead of logging a traceback."""
    def follow(*args):
        try:
            return fn(*args)
        except PianoplayError:
            return gr.skip() if outputs == 1 else [gr.skip()] * outputs
    return follow


def seed_text(seed) -> str:
    return f"Seed **{seed}**: type it into *Seed* to make this again." if seed is not None else ""


def progress_of(progress: gr.Progress):
    return lambda fraction, what: progress(fraction, desc=what)


def first(names: list[str]) -> str | None:
    return names[0] if names else None


def examples() -> dict[str, str]:
    """The bundled MIDI files by readable name."""
    return {p.stem.replace("_", " "): str(p) for p in sorted(ASSETS_DIR.glob("*.mid"))}
