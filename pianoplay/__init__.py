"""pianoplay: generate piano music with neural networks and listen to it.

Layers, bottom up (each only imports the ones above it in this list):

- ``errors``      the user-facing exception types
- ``midi``        MIDI file -> validated notes
- ``roll``        notes <-> piano roll (quantisation, onsets, windows)
- ``keys``        key estimation and transposition to C
- ``data``        data sets (MIDI folders, benchmark .mat, caches)
- ``audio``       FluidSynth rendering, soundfont discovery, WAV
- ``plot``        piano-roll pictures
- ``models``      nn.Modules with their config dataclasses
- ``checkpoint``  config.json + model.safetensors folders
- ``registry``    discovers checkpoints, loads them lazily
- ``cli`` / ``app.py``  user interfaces
"""

__version__ = "0.1.0"
