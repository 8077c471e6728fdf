"""What an action changed about its user's input, for a short note beside the result
(Gradio-free: the tabs' actions use it; :mod:`pianoplay.ui.inputs` shows it)."""

from __future__ import annotations

import math

from pianoplay.errors import PianoplayError


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
