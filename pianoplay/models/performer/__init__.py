"""The performer family: a score's velocities and sustain pedal, learned from the
piano-midi-de performances (see ``checkpoints/performer-classical/README.md``).

    from pianoplay.models.performer import load_performer, perform
    pm = perform(pm)                  # velocities 1..127 and CC64, in place

Not a generator: no app tab serves it; every rendered piece goes through it
(``pianoplay.ui.outputs.render_piece(performed=True)``). Names are imported lazily so
that importing the package does not import torch.
"""

from __future__ import annotations

__all__ = ["DEFAULT", "TrainedPerformer", "load_performer", "perform"]


def __getattr__(name: str):
    if name in __all__:
        import importlib

        module = importlib.import_module("pianoplay.models.performer.play")

        return getattr(module, name)
    raise AttributeError(name)
