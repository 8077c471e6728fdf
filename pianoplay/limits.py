"""Limits and defaults that the app and the CLI share (one home each; nothing heavy
imported, so a CLI parser can read them before torch or numpy is loaded)."""

from __future__ import annotations

STEPS_RANGE = (2, 16)  # interpolation steps, A and B included
PRIMER_BARS = 8  # a primer's first bars that are continued
# Decoding temperature of the chord-token VAE (vae-nottingham) with noise fixed by the seed:
# its argmax holds one chord, and at 0.8 half of its frames repeat the one before
# (bench/music_quality.py: held 0.50, real 0.25); at 1.0 it is in the band (held 0.34).
DECODE_TEMPERATURE = 1.0
