"""The segment VAE: one z per segment (two bars) of sixteenth notes with onsets, made to
give your notes back (``vae-faithful``; ``vae-segment-lstm``, its LSTM baseline).

``model`` (``SegmentVAE``, its config, and the key-state representation), ``trained``
(``TrainedSegmentVAE``, the inference wrapper), ``train`` (``pianoplay train
vae-segment``), ``evaluate`` (negative ELBO and reconstruction), ``card`` (README).
"""

from pianoplay.models.spec import FamilySpec

FAMILY = FamilySpec(
    name="segment-vae",
    summary="A variational autoencoder with one code per bar (or two) of sixteenth notes, "
    "made to give your notes back (at temperature 0): your file in the **Latent sliders** "
    "tab, moved, and paths between two files (**Interpolate**).",
    plain_for="Takes your own MIDI file, lets you move it with sliders and walks between two "
    "of your files.",
    plain_expect="At temperature 0 your notes come back almost exactly; sliders change the "
    "texture (more or fewer notes together, busier rhythm) bar by bar.",
    recognise={"family": "vae", "model.kind": "segment"},
    inference="pianoplay.models.segment_vae.trained:TrainedSegmentVAE",
    trainer="pianoplay.models.segment_vae.train_cli",
    train_name="vae-segment",
    evaluator="pianoplay.models.segment_vae.evaluate:evaluate",
    reads="midi",
    tabs=("sample", "latent", "interpolate", "infill"),
    refuses={"generate": "a VAE decodes codes of whole windows; it does not continue a piece "
             "(Generate needs a language model)."},
    temperature=1.0,
    decode_temperature=0.0,
)
