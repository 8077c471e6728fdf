"""The app checks its users' input itself (not Gradio), notes what it changed, and keeps
the previous result when it refuses."""

from __future__ import annotations

import gradio as gr
import pytest

from pianoplay.errors import PianoplayError
from pianoplay.ui.inputs import keep_on_refusal, open_dropdown, open_slider
from pianoplay.ui.notes import Notes


def test_open_controls_let_the_action_decide():
    slider = open_slider(40, 240, value=120, step=1)
    assert slider.preprocess(5000) == 5000  # gr.Slider raises here, with a traceback
    with pytest.raises(gr.Error):
        gr.Slider(40, 240, value=120).preprocess(5000)
    dropdown = open_dropdown(["a", "b"], value="a")
    assert dropdown.preprocess("no-such-model") == "no-such-model"


def test_clamps_are_noted():
    notes = Notes()
    assert notes.clamp("tempo", 5000, 40, 240, done="played") == 240
    assert notes.clamp("bars", 999, 1, 64, integer=True) == 64
    assert notes.clamp("steps", 8, 2, 16, integer=True) == 8
    assert notes.lines == ["tempo 5000 is above 240: played at 240",
                           "bars 999 is above 64: used at 64"]
    with pytest.raises(PianoplayError, match="Tempo must be a number"):
        notes.clamp("tempo", "fast", 40, 240)


def test_a_refusal_keeps_the_results_and_says_why():
    @keep_on_refusal(3, message_at=2)
    def action(x):
        if x < 0:
            raise PianoplayError("Seed must be 0 or more, not -5.")
        return "audio.wav", "roll.png", ""

    assert action(1) == ("audio.wav", "roll.png", "")
    audio, roll, message = action(-5)
    assert isinstance(audio, type(gr.skip())) and isinstance(roll, type(gr.skip()))
    assert "Seed must be 0 or more, not -5." in message

    @keep_on_refusal(1)
    def toast(x):
        raise PianoplayError("no")

    with pytest.raises(gr.Error):
        toast(1)
