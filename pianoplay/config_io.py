"""Strict dataclass configs: JSON in, JSON out, unknown keys refused by name.

MidiTok's rule: a config that silently drops a key it does not know turns a
typo (``latnt_dim``) into a default model trained without a word. Every config
class of pianoplay builds itself through :func:`from_dict`, which names the
unknown key and the place it came from.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, TypeVar

from pianoplay.errors import PianoplayError

T = TypeVar("T")


class ConfigError(PianoplayError, ValueError):
    """A configuration key that the config class does not know, or a bad value."""


def from_dict(cls: type[T], d: dict[str, Any] | None, where: str = "config",
              ignore: tuple[str, ...] = ()) -> T:
    """``cls(**d)`` after checking that every key of ``d`` is a field of ``cls``.

    ``ignore`` lists keys written by older versions that carry no meaning now.
    """
    d = dict(d or {})
    names = {f.name for f in fields(cls)}
    unknown = sorted(k for k in d if k not in names and k not in ignore)
    if unknown:
        raise ConfigError(f"{where}: unknown key{'s' if len(unknown) > 1 else ''} "
                          f"{', '.join(repr(k) for k in unknown)} for {cls.__name__} "
                          f"(known: {', '.join(sorted(names))}).")
    return cls(**{k: v for k, v in d.items() if k in names})


def check_names(obj, parts: dict[str, Any], where: str = "model") -> None:
    """Raise :class:`ConfigError` unless each ``obj.<part>`` is a key of its ``parts`` map
    (a model assembled from named parts: ``{"encoder": ENCODERS, "decoder": DECODERS}``)."""
    for part, names in parts.items():
        if getattr(obj, part) not in names:
            raise ConfigError(f"{where}.{part} must be one of {', '.join(names)}, "
                              f"not {getattr(obj, part)!r}.")


def to_dict(obj) -> dict[str, Any]:
    return asdict(obj)
