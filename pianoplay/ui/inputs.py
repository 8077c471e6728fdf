"""What the app does with a user's input: it checks it itself, says what it changed, and
answers a refusal in the page.

- :func:`open_slider` and :func:`open_dropdown` make Gradio controls whose own range and
  choice checks are left to the action: through the API a tempo of 5000 or an unknown
  checkpoint reaches the action, which clamps it (and says so) or refuses it in one line,
  instead of Gradio raising its own error with a traceback in the server log.
- :class:`~pianoplay.ui.notes.Notes` (Gradio-free, for the actions) collects what was
  changed ("tempo 5000 is above 240: played at 240", a MIDI file's repairs).
- :func:`keep_on_refusal` wraps an action so that a refused one keeps the previous
  result on the page and shows its message in the output area.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import gradio as gr
from gradio.components.number import Number

from pianoplay.errors import PianoplayError
from pianoplay.ui.notes import refusal_markdown

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


def open_radio(*args, **kwargs) -> gr.Radio:
    """A ``gr.Radio`` (of values) that passes any value to the action, which refuses an
    unknown one in its own words (Gradio's own check logs a traceback per refusal)."""
    radio = gr.Radio(*args, **kwargs)
    radio.preprocess = lambda payload: payload
    return radio


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
            except (PianoplayError, gr.Error) as err:
                message = err.message if isinstance(err, gr.Error) else str(err)
                if isinstance(err, PianoplayError):  # a gr.Error was logged where raised
                    log.warning("refused: %s", message)
                if message_at is None:
                    raise gr.Error(message, print_exception=False) from None
                out = [gr.skip()] * n_results
                out[message_at] = refusal_markdown(message)
                return tuple(out) if n_results > 1 else out[0]

        return run

    return wrap


def refusing(action: Callable) -> Callable:
    """``action`` with a :class:`PianoplayError` turned into a ``gr.Error`` toast whose
    message is the app's sentence (one log line, no traceback): for API callers, who get
    the message as the call's error."""

    @functools.wraps(action)
    def run(*args, **kwargs):
        try:
            return action(*args, **kwargs)
        except PianoplayError as err:
            log.warning("refused: %s", err)
            raise gr.Error(str(err), print_exception=False) from None

    return run


def wire(trigger, fn: Callable, inputs, outputs, api_name: str, message_at: int, **kwargs):
    """Run ``fn`` on ``trigger`` (a button's ``click``) for the page and offer it as API
    endpoint ``api_name``: on the page a refusal keeps the previous results and shows its
    message in ``outputs[message_at]`` (:func:`keep_on_refusal`); an API caller gets it as
    the call's error (:func:`refusing`; a hidden button carries the endpoint). Returns the
    page's event, for ``.then``."""
    hidden = gr.Button(visible=False, elem_classes=["pp-api"])
    hidden.click(refusing(fn), inputs, outputs, api_name=api_name, **kwargs)
    page_fn = keep_on_refusal(len(outputs), message_at)(fn)
    return trigger(page_fn, inputs, outputs, api_visibility="private", **kwargs)
