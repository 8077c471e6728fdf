"""Limits and defaults that the app and the CLI share (one home each; nothing heavy
imported, so a CLI parser can read them before torch or numpy is loaded)."""

from __future__ import annotations

STEPS_RANGE = (2, 16)  # interpolation steps, A and B included
PRIMER_BARS = 8  # a primer's first bars that are continued
