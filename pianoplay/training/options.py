"""Typed training configs from the command line: defaults < ``--config`` JSON < flags.

``--config`` takes a JSON object or the path of a JSON file. Its keys go through
``config_io.from_dict`` (an unknown key is an error naming it) and a type check
(``"lr": "0.1"`` is refused, an int where a float is expected becomes a float); flags
given explicitly on the command line win over it. Flags that fill a config field have
``default=None`` so an explicit flag can be told from an absent one.
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from pianoplay.config_io import ConfigError, from_dict

T = TypeVar("T")


def read_json_arg(text: str | None, flag: str = "--config") -> dict:
    """The JSON object in ``text``, or in the file it names; ``{}`` for none."""
    if not text:
        return {}
    try:
        obj = json.loads(text if text.lstrip().startswith("{") else Path(text).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError(
            f"{flag} {text!r} is neither a JSON file nor a JSON object ({err})."
        ) from None
    if not isinstance(obj, dict):
        raise ConfigError(f"{flag} must hold a JSON object, not {type(obj).__name__}.")
    return obj


def build_config(cls: type[T], base: T, over: dict, flags: dict, where: str = "--config") -> T:
    """``base`` with the keys of ``over`` (checked: known, typed) and then the flags that
    are not ``None`` (argparse already typed them)."""
    merged = from_dict(cls, {**base.to_dict(), **over}, where)  # names unknown keys
    hints = typing.get_type_hints(cls)
    for key, value in over.items():
        if not _fits(value, hints[key]):
            raise ConfigError(f"{where}: {key!r} must be {_name(hints[key])}, not {value!r}.")
        if hints[key] is float and isinstance(value, int):
            setattr(merged, key, float(value))
    return replace(merged, **{k: v for k, v in flags.items() if v is not None})


def _fits(value: Any, tp) -> bool:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, a) for a in args)
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    if origin is list:
        return isinstance(value, list) and all(_fits(v, args[0]) for v in value)
    return True  # a type this check does not know: leave it to the config


def _name(tp) -> str:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join(_name(a) for a in typing.get_args(tp))
    return "null" if tp is type(None) else getattr(tp, "__name__", str(tp))
