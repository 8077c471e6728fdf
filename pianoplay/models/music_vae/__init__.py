"""The chord-token VAE (MusicVAE-style): one z for 16 bars of eighth notes, frames as chord
tokens, a flat or conductor decoder (``vae-nottingham``, ``vae-nottingham-flat``).

``model`` (``MusicVAE`` and its config), ``encoders`` / ``decoders`` / ``parts_step``
(its parts), ``trained`` (``TrainedVAE``, the inference wrapper), ``train``
(``pianoplay train vae``), ``evaluate`` (ELBO and reconstruction), ``card`` (README).
"""

from pianoplay.limits import DECODE_TEMPERATURE
from pianoplay.models.spec import FamilySpec

FAMILY = FamilySpec(
    name="music-vae",
    summary="A variational autoencoder of 16-bar pieces: samples new pieces (**Sample**), "
    "encodes your MIDI into a point you can move (**Latent sliders**) and walks between two "
    "pieces (**Interpolate**).",
    plain_for="Makes new 16-bar folk tunes and blends between two pieces.",
    plain_expect="Tunes of 16 bars with a melody over chords, in C major or C minor; paths "
    "between two pieces change gradually.",
    recognise={"family": "vae", "model.kind": None},
    inference="pianoplay.models.music_vae.trained:TrainedVAE",
    trainer="pianoplay.models.music_vae.train",
    train_name="vae",
    evaluator="pianoplay.models.music_vae.evaluate:evaluate",
    tabs=("sample", "latent", "interpolate"),
    refuses={"generate": "a VAE decodes codes of whole windows; it does not continue a piece "
             "(Generate needs a language model)."},
    temperature=1.0,
    decode_temperature=DECODE_TEMPERATURE,
)
