"""What a model family declares about itself: :class:`FamilySpec`.

Each family is a package under ``pianoplay/models/`` whose ``__init__.py`` sets
``FAMILY = FamilySpec(...)`` (or ``FAMILIES = (spec, ...)`` when two families share their
code, as the chord- and roll-LSTM do); :mod:`pianoplay.models.families` finds them. The
registry, every ``pianoplay`` subcommand, the model cards and the app's pickers read these
declarations, and nothing else lists families. Plain data, importing nothing heavy: the
CLI and the app's first page read it before torch is loaded.

Tabs are named by id: ``"sample"``, ``"latent"``, ``"interpolate"``, ``"generate"`` (and
what later tabs add, such as ``"infill"``); the CLI's ``sample``, ``interpolate`` and
``generate`` ask the tab of their name, so the CLI refuses what the app refuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FamilySpec:
    """One model family.

    - ``name``: the family's name (``info.family``, ``model.family``), e.g. ``"segment-vae"``.
    - ``summary``: what it is for, in a sentence or two of Markdown (the model card's
      purpose); ``plain_for`` and ``plain_expect``: one plain line each, what it is for and
      what a listener can expect (the first lines of its card).
    - ``recognise``: the ``config.json`` fields that identify a checkpoint of this family,
      dotted key -> value (``None``: the key is absent), e.g. ``{"family": "vae",
      "model.kind": "segment"}``. Every checkpoint matches exactly one family.
    - ``inference``: ``"module:Class"`` whose ``from_checkpoint(folder, device)`` loads it
      (imported only when a checkpoint of the family is loaded).
    - ``trainer``: the module with ``add_train_parser(subparsers)`` that registers
      ``pianoplay train <train_name>``; ``None`` when it is not trained here.
    - ``evaluator``: ``"module:function"``, ``function(trained, rolls, **options) -> dict``
      behind ``pianoplay evaluate``; or ``None`` and ``no_evaluator``, the one-line reason.
    - ``reads``: what ``pianoplay evaluate --data`` must be for it: ``"rolls"`` (a benchmark
      file or a MIDI folder) or ``"midi"`` (a MIDI data set folder only).
    - ``tabs``: the app's tabs (and the CLI subcommands of the same name) it serves;
      ``refuses``: tab -> the one-line reason it does not serve it (shown in the app and by
      the CLI). A checkpoint's ``config.json`` may refuse more (``not_for``: tab -> reason)
      and name the tabs it is the first choice for (``app_roles``).
    - ``strategies``: the decoding strategies it offers (Generate, ``generate --strategy``),
      the first the app's default; ``not_offered``: strategy -> why the family does not
      offer it. A checkpoint may refuse more (``not_offered`` in ``config.json``).
    - ``temperature``: its default sampling temperature (Sample, Generate);
      ``decode_temperature``: the default for decoding a given code (Latent sliders,
      Interpolate; 0 = the most likely notes). ``decode_temperature`` in ``config.json``
      sets both for one checkpoint.
    - ``via``: the family whose checkpoint it needs beside its own (a prior over a VAE's
      codes decodes through that VAE), or ``None``.
    """

    name: str
    summary: str
    recognise: dict[str, Any]
    inference: str
    plain_for: str = ""
    plain_expect: str = ""
    trainer: str | None = None
    train_name: str | None = None
    evaluator: str | None = None
    no_evaluator: str = ""
    reads: str = "rolls"
    tabs: tuple[str, ...] = ()
    refuses: dict[str, str] = field(default_factory=dict)
    strategies: tuple[str, ...] = ()
    not_offered: dict[str, str] = field(default_factory=dict)
    temperature: float = 1.0
    decode_temperature: float = 1.0
    via: str | None = None

    def __post_init__(self) -> None:
        if (self.trainer is None) != (self.train_name is None):
            raise ValueError(f"{self.name}: trainer and train_name go together")
        if (self.evaluator is None) == (not self.no_evaluator):
            raise ValueError(f"{self.name}: give an evaluator or the reason it has none")
        if set(self.tabs) & set(self.refuses):
            raise ValueError(f"{self.name}: a tab is served and refused at once")
        if self.reads not in ("rolls", "midi"):
            raise ValueError(f"{self.name}: reads is 'rolls' or 'midi', not {self.reads!r}")

    def matches(self, config: dict[str, Any]) -> bool:
        """Whether a ``config.json`` (a dict) is a checkpoint of this family."""
        return all(_lookup(config, key) == value for key, value in self.recognise.items())


_ABSENT = None


def _lookup(config: dict[str, Any], dotted: str):
    value: Any = config
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return _ABSENT
        value = value[part]
    return value
