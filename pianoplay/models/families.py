"""The model families: every package under ``pianoplay/models/`` that declares one.

A family is a folder, ``pianoplay/models/<package>/``, whose ``__init__.py`` sets
``FAMILY = FamilySpec(...)`` (or ``FAMILIES``, a tuple, when families share their code);
adding a family is adding such a folder. Packages without a declaration (shared code)
are skipped. See :class:`~pianoplay.models.spec.FamilySpec` and docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from typing import Any

import pianoplay.models as models_package
from pianoplay.errors import CheckpointError
from pianoplay.models.spec import FamilySpec


@functools.cache
def all_families() -> tuple[FamilySpec, ...]:
    """Every declared family, in package order."""
    found: list[FamilySpec] = []
    for module in pkgutil.iter_modules(models_package.__path__):
        if not module.ispkg:
            continue
        package = importlib.import_module(f"{models_package.__name__}.{module.name}")
        specs = getattr(package, "FAMILIES", None) or (
            (package.FAMILY,) if hasattr(package, "FAMILY") else ()
        )
        found.extend(specs)
    names = [spec.name for spec in found]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise RuntimeError(f"model families declared twice: {', '.join(twice)}")
    return tuple(found)


def family(name: str) -> FamilySpec:
    """The family called ``name``."""
    for spec in all_families():
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s in all_families())
    raise CheckpointError(f"unknown model family {name!r} (known: {known}).")


def family_of(config: dict[str, Any], where: str = "config.json") -> FamilySpec:
    """The one family whose ``recognise`` matches a checkpoint's config."""
    matched = [spec for spec in all_families() if spec.matches(config)]
    if len(matched) == 1:
        return matched[0]
    what = f"family {config.get('family')!r}"
    model = config.get("model")
    kind = model.get("kind") if isinstance(model, dict) else None
    if kind is not None:
        what += f", model kind {kind!r}"
    if not matched:
        known = ", ".join(s.name for s in all_families())
        raise CheckpointError(f"{where}: no model family recognises {what} (known: {known}).")
    raise CheckpointError(
        f"{where}: {what} matches {', '.join(s.name for s in matched)}; a checkpoint must "
        "match exactly one family."
    )


def serving(tab: str) -> tuple[FamilySpec, ...]:
    """The families that serve ``tab``."""
    return tuple(spec for spec in all_families() if tab in spec.tabs)


def load_object(path: str):
    """``"module:name"`` -> the object (a family's inference class or evaluator)."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)
