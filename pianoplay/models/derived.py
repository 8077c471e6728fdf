"""Values derived from a module's weights (folded or fused matrices for fast
decoding), computed once and kept until a weight changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch

T = TypeVar("T")


def derived(module: torch.nn.Module, name: str, build: Callable[[], T]) -> T:
    """``build()``, cached on ``module`` under ``name`` until one of its parameters
    is replaced, moved or changed in place (an optimiser step bumps ``_version``)."""
    key = tuple((id(p), p._version, p.device) for p in module.parameters())
    cached = module.__dict__.get(name)
    if cached is not None and cached[0] == key:
        return cached[1]
    value = build()
    module.__dict__[name] = (key, value)
    return value
