"""The one place that picks the torch device."""

from __future__ import annotations

import torch

from pianoplay.errors import PianoplayError


def pick_device(override: str | None = None) -> torch.device:
    """Return ``override`` if given, else CUDA when available, else the CPU.

    Models never call this; they read the device of their parameters.
    """
    if override in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(override)
    except RuntimeError as err:
        raise PianoplayError(f"--device {override!r} is not a torch device ({err}).") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise PianoplayError(f"--device {override!r} asked for CUDA, but no CUDA GPU is available.")
    return device
