"""What the app's controls and the CLI's flags start at (one home each, STYLE.md item 11).

Nothing heavy is imported, so a CLI parser reads these before torch or numpy loads.
``tests/test_defaults.py`` checks that both the CLI's argparse defaults and the app's
controls start here. Limits that refuse input live in :mod:`pianoplay.limits`.
"""

from __future__ import annotations

STRATEGY = "top-p"  # a language model's decoding (Generate tab, ``pianoplay generate``)
TEMPERATURE = None  # None: the checkpoint's own (``decode_temperature`` in its config)
TEMPERATURE_RANGE = (0.1, 2.0)
TOP_K = 20  # the k most likely frames kept by top-k
TOP_K_RANGE = (1, 200)
TOP_P = 0.9  # the probability mass kept by top-p (nucleus) sampling
TOP_P_RANGE = (0.05, 1.0)
BEAM_WIDTH = 8
BEAM_WIDTH_RANGE = (1, 16)
BARS = 16  # bars to generate or sample (a VAE: at most its window)
TEMPO = 120.0  # bpm of what is written and played (a primer's own tempo wins)
TEMPO_RANGE = (40, 240)  # the app's slider; a value outside is played at the nearest end
PROGRAM = 0  # General MIDI program: acoustic grand piano
SAMPLES = 2  # pieces the Sample tab draws at once
INTERPOLATION_STEPS = 8  # points on an interpolation path, A and B included
