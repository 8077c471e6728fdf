"""The performer family: a score's velocities and sustain pedal, learned from the
piano-midi-de performances (see ``checkpoints/performer-classical/README.md``).

    from pianoplay.models.performer import load_performer, perform
    pm = perform(pm)                  # velocities 1..127 and CC64, in place

Not a generator: no app tab serves it; every rendered piece goes through it
(``pianoplay.ui.outputs.render_piece(performed=True)``). ``features`` (what it sees of a
score), ``targets`` (velocity and pedal of a performance), ``data`` (the piano-midi-de
splits), ``model``, ``train`` / ``train_cli`` (``pianoplay train performer``),
``calibrate``, ``evaluate`` (measures; ``bench/performer.py``), ``play`` (``perform``,
``keep_from``). Names are imported lazily so that importing the package does not import
torch.
"""

from __future__ import annotations

from pianoplay.models.spec import FamilySpec

NOT_A_GENERATOR = ("a performer writes no notes: it plays the notes of the other models "
                   "(velocities and sustain pedal) whenever a piece is rendered.")

FAMILY = FamilySpec(
    name="performer",
    summary="Plays a score: every note's velocity and the sustain pedal (CC64), learned from "
    "the piano-midi-de performances. Not a generator: every piece the app and the CLI render "
    "goes through it (**Rendering**: performed, or flat with `--flat` / `performed=False`).",
    plain_for="Plays a score with a pianist's timing and dynamics.",
    plain_expect="Your notes unchanged, with timing and loudness shaped like a performance.",
    recognise={"family": "performer"},
    inference="pianoplay.models.performer.play:TrainedPerformer",
    trainer="pianoplay.models.performer.train_cli",
    train_name="performer",
    no_evaluator="a performer is measured on performances, not rolls: bench/performer.py "
    "(velocity MAE and r, pedal F1 on the piano-midi-de test split).",
    reads="midi",
    refuses={tab: NOT_A_GENERATOR for tab in ("sample", "latent", "interpolate", "generate")},
)

LAZY = ("DEFAULT", "TrainedPerformer", "load_performer", "perform", "keep_from", "source_midi")
__all__ = ["FAMILY", *LAZY]


def __getattr__(name: str):
    if name in LAZY:
        import importlib

        module = importlib.import_module("pianoplay.models.performer.play")
        return getattr(module, name)
    raise AttributeError(name)
