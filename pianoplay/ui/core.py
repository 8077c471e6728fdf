"""The shared side of the app's actions (Gradio-free): checking a control's value, seeds,
the checkpoints a tab offers, and :class:`ActionsCore`, which every tab's actions extend.

Every action checks its arguments (raising :class:`PianoplayError` with a message that
names the control), runs the model, and writes its results into a fresh output folder.
Rolls are rendered at the user's tempo and General MIDI program.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from pianoplay.errors import PianoplayError
from pianoplay.ui.model_card import card_markdown
from pianoplay.ui.notes import Notes
from pianoplay.ui.outputs import Outputs

Progress = Callable[[float, str], None]
MAX_SAMPLES = 4
MAX_LM_BARS = 64
TEMPO_RANGE = (40.0, 240.0)
SEED_MAX = 2**31 - 1


def check_range(label: str, value, lo: float, hi: float, integer: bool = False):
    """``value`` as a number inside [lo, hi], or a PianoplayError naming ``label``."""
    if value is None:
        raise PianoplayError(f"{label} is missing.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PianoplayError(f"{label} must be a number, not {value!r}.") from None
    if not lo <= number <= hi:
        raise PianoplayError(f"{label} must be between {lo:g} and {hi:g}, not {number:g}.")
    if integer:
        if number != int(number):
            raise PianoplayError(f"{label} must be a whole number, not {number:g}.")
        return int(number)
    return number




def new_seed(seed) -> int:
    """The seed to use: ``seed`` itself, or a fresh random one when it is negative or
    missing (returned, so the page can show it and the piece can be made again)."""
    if seed is None or seed == "":
        return random.randint(0, SEED_MAX)
    if check_range("Seed", seed, float("-inf"), SEED_MAX) < 0:
        return random.randint(0, SEED_MAX)
    return check_range("Seed", seed, 0, SEED_MAX, integer=True)



def render_args(tempo, program, notes: Notes | None = None) -> tuple[float, int]:
    """The tempo and General MIDI program to render at. With ``notes`` a tempo outside
    ``TEMPO_RANGE`` is played at the nearest end and noted ("tempo 5000 is above 240:
    played at 240"); without, it is refused."""
    if notes is not None:
        tempo = notes.clamp("tempo", tempo, *TEMPO_RANGE, done="played")
    return (
        check_range("Tempo (bpm)", tempo, *TEMPO_RANGE),
        check_range("Instrument (General MIDI program)", program, 0, 127, integer=True),
    )


def tick(progress: Progress | None, fraction: float, what: str) -> None:
    if progress is not None:
        progress(fraction, what)


class ActionsCore:
    """What every tab's actions share: the registry, the output folder, caches, and which
    checkpoints a tab offers (their families' declarations)."""

    def __init__(self, registry, outputs: Outputs | None = None) -> None:
        self.registry = registry
        self.outputs = outputs or Outputs()

    # models ---------------------------------------------------------------
    def names(self, tab: str) -> list[str]:
        """The checkpoints offered in ``tab`` (their families serve it and their configs do
        not refuse it), first choices (``app_roles``) first."""
        return [i.name for i in self.registry.serving(tab)]

    def refuse(self, name: str, tab: str) -> None:
        """The one-sentence PianoplayError (the CLI's too) when ``name`` is not offered in
        ``tab``."""
        self._info(name)
        self.registry.refuse(name, tab)

    def decode_temperature(self, name: str) -> float:
        """The temperature a VAE decodes a code at by default (Latent sliders, Interpolate):
        its config's ``decode_temperature`` when set (vae-faithful: 0, its most likely notes,
        as it reproduces its input), else its family's."""
        return self.registry.info(name).decode_temperature if name else 0.0

    def model_card(self, name: str) -> str:
        """Markdown: what the model is for, its data and its headline numbers with units,
        then its README (see :mod:`pianoplay.ui.model_card`)."""
        if not name:
            return "No checkpoint selected."
        return card_markdown(self._info(name))

    def _info(self, name: str):
        """The registry's info of a checkpoint offered here; names only, so a request
        cannot point the app at some other folder on the server."""
        known = self.registry.names()
        if name not in known:
            raise PianoplayError(
                f"unknown checkpoint {str(name)!r}; available: {', '.join(known) or 'none'}."
            )
        return self.registry.info(name)

    def styles(self, name: str | None) -> list[str]:
        """The styles a checkpoint samples in (a latent prior's; none for other models)."""
        if not name or name not in self.registry.names():
            return []
        return self.registry.styles(name)

    def check_style(self, name: str, style) -> str | None:
        """``style`` checked against the checkpoint's styles (empty: its first), or None
        for a model without styles (whatever ``style`` says)."""
        if style == "" or len(self.styles(name)) <= 1:  # the page's style control sends a
            style = None  # value whatever the model; with one style or none there is no choice
        return self.registry.check_style(name, style)

    def max_bars(self, name: str) -> int:
        """Longest sample a checkpoint writes: a VAE's window, else ``MAX_LM_BARS``."""
        info = self._info(name)
        if info.spec.strategies:  # a language model writes as long as asked
            return MAX_LM_BARS
        steps_per_bar = int(info.representation.get("steps_per_bar", 8))
        return int(info.config["model"].get("max_steps", 16 * steps_per_bar)) // steps_per_bar

    def _load(self, name: str, tab: str, what: str):
        """The model of a checkpoint offered in ``tab``, loaded (``what`` names the action)."""
        if not name:
            raise PianoplayError(f"Pick a checkpoint for {what}.")
        self.refuse(name, tab)
        return self.registry.load(name)

    def default_temperature(self, name: str) -> float:
        """The temperature a model samples or generates at by default (Sample and Generate
        tabs): its config's ``decode_temperature`` (chord-lstm-classical: 0.9), else its
        family's."""
        return self.registry.info(name).temperature if name else 1.0

    def temperature_hint(self, name: str | None) -> str:
        """The temperature slider's hint: the chosen model's own default."""
        if not name:
            return "follows the model's default"
        return f"follows the model's default ({name}: {self.default_temperature(name):g})"

    def vae_temperature(self, name: str, temperature) -> float:
        if temperature is None or temperature == "":
            return self.decode_temperature(name)
        temperature = check_range("Temperature", temperature, 0.0, 2.0)
        if temperature == 0 and self.decode_temperature(name) > 0:
            faithful = [
                n for n in self.names("interpolate") if self.decode_temperature(n) == 0
            ]
            hint = (
                f", or the model {faithful[0]}, which gives back your notes at 0"
                if faithful
                else ""
            )
            raise PianoplayError(
                f"{name} holds one chord when decoded at temperature 0 (its most likely "
                f"frame repeats); pick a temperature of 0.1 or more{hint}."
            )
        return temperature
