"""pianoplay: generate piano music with neural networks and listen to it.

Packages, bottom up (each imports only from the ones above it in this list):

- ``errors``, ``paths``, ``device``, ``config_io``, ``limits``, ``defaults``: user-facing
  errors, locations, the one device choice, strict configs, shared limits and defaults
- ``music``     MIDI in and out, piano rolls, keys, bar windows, vocabularies, measures
- ``data``      data sets (benchmark .mat/.pickle, MIDI sets, caches, splits, download)
- ``audio``     FluidSynth rendering and WAV, piano-roll pictures
- ``decoding``  every decoding strategy once, over a model's step function
- ``training``  the loop every trainer runs (resume, early stopping, torchrun)
- ``models``    checkpoint folders, the family declarations (``spec``, ``families``), the
  registry, and one folder per family (``music_vae``, ``segment_vae``, ``lm``, ...) beside
  ``latent`` (latent-space tools the VAEs share)
- ``ui``        the app's tabs (``ui/tabs/``, one file each) and what they share
- ``cli`` + ``commands``, and ``app.py`` at the repository root: the user interfaces

See docs/ARCHITECTURE.md.
"""

__version__ = "0.1.0"
