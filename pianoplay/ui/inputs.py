"""What the app does with a user's input: it checks it itself, says what it changed, and
answers a refusal in the page.

- :func:`open_slider` and :func:`open_dropdown` make Gradio controls whose own range and
  choice checks are left to the action: through the API a tempo of 5000 or an unknown
  checkpoint reaches the action, which clamps it (and says so) or refuses it in one line,
  instead of Gradio raising its own error with a traceback in the server log.
- :class:`Notes` collects what was changed ("tempo 5000 is above 240: played at 240",
  a MIDI file's repairs) for a short note beside the result.
- :func:`keep_on_refusal` wraps an action so that a refused one keeps the previous
  result on the page and shows its message in the output area.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable

import gradio as gr
from gradio.components.number import Number

from pianoplay.errors import PianoplayError

log = logging.getLogger("pianoplay.app")


def open_slider(*args, **kwargs) -> gr.Slider:
    """A ``gr.Slider`` whose ``minimum``/``maximum`` bound the handle only: a value from the
    API outside them reaches the action (which clamps or refuses it in its own words).

    (The instance's ``preprocess`` is replaced rather than the class subclassed: Gradio
    writes a ``.pyi`` file beside the module of every component subclass.)"""
    slider = gr.Slider(*args, **kwargs)

    def preprocess(payload: float | None) -> float | None:
        return None if payload is None else Number.round_to_precision(payload, slider.precision)

    slider.preprocess = preprocess
    return slider


def open_dropdown(*args, **kwargs) -> gr.Dropdown:
    """A single-choice ``gr.Dropdown`` that passes any value to the action, which refuses
    an unknown one in its own words."""
    return gr.Dropdown(*args, allow_custom_value=True, **kwargs)


def _number(label: str, value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PianoplayError(f"{label} must be a number, not {value!r}.") from None
    if math.isnan(number):
        raise PianoplayError(f"{label} must be a number, not {value!r}.")
    return number


def _show(value: float) -> str:
    return f"{value:g}"


class Notes:
    """What an action changed about its input, one short sentence each."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        if line and line not in self.lines:
            self.lines.append(line)

    def extend(self, lines) -> None:
        for line in lines:
            self.add(line)

    def clamp(self, label: str, value, lo: float, hi: float, integer: bool = False,
              done: str = "used") -> float:
        """``value`` moved into [lo, hi], with a note when it had to move:
        ``clamp("tempo", 5000, 40, 240, done="played")`` -> 240 and
        "tempo 5000 is above 240: played at 240"."""
        number = _number(label[:1].upper() + label[1:], value)
        if integer:
            number = float(round(number))
        if number > hi:
            self.add(f"{label} {_show(_number(label, value))} is above {_show(hi)}: "
                     f"{done} at {_show(hi)}")
            number = hi
        elif number < lo:
            self.add(f"{label} {_show(_number(label, value))} is below {_show(lo)}: "
                     f"{done} at {_show(lo)}")
            number = lo
        return int(number) if integer else number

    def markdown(self) -> str:
        """The notes as a short list for a ``gr.Markdown`` beside the result ("" if none)."""
        return "\n".join(f"- {line}" for line in self.lines)


def refusal_markdown(message: str) -> str:
    """A refused action's message, as the output area shows it."""
    return f"**Not done:** {message}"


def keep_on_refusal(n_results: int, message_at: int | None = None) -> Callable:
    """Wrap an action returning ``n_results`` outputs (one of them, ``message_at``, a
    Markdown for notes): when it raises a :class:`PianoplayError`, every other output
    keeps what the page shows (``gr.skip()``), the Markdown shows the refusal, and the
    log gets one line, not a traceback. Without ``message_at`` the refusal becomes a
    ``gr.Error`` toast (print_exception off)."""

    def wrap(action: Callable) -> Callable:
        @functools.wraps(action)
        def run(*args, **kwargs):
            try:
                return action(*args, **kwargs)
            except PianoplayError as err:
                log.warning("refused: %s", err)
                if message_at is None:
                    raise gr.Error(str(err), print_exception=False) from None
                out = [gr.skip()] * n_results
                out[message_at] = refusal_markdown(str(err))
                return tuple(out) if n_results > 1 else out[0]

        return run

    return wrap
