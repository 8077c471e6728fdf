"""Latent priors: generative models over sequences of a segment VAE's per-bar codes
(``prior-faithful`` over ``vae-faithful``; personal priors fitted on a user's files).

``codes`` (the data: code sequences of a data set, cached), ``model`` (the denoiser and
its two objectives, diffusion and flow matching), ``trained`` (``TrainedPrior``: sample,
complete, project), ``infill`` (change the bars you choose, continue, introduce),
``train`` (``pianoplay train latent-prior``), ``evaluate`` (denoising loss on a split).
"""

from pianoplay.models.spec import FamilySpec

FAMILY = FamilySpec(
    name="latent-prior",
    summary="A model of how the codes of a faithful VAE follow each other, bar after bar: "
    "it writes new pieces (**Sample**, in a style) and new bars inside, after or before your "
    "file (**Infill**), and the VAE turns its codes into notes.",
    plain_for="Writes new pieces in a style, and new bars inside, after or before your own "
    "file, one bar at a time from bars of real music.",
    plain_expect="Folk tunes or piano music of 16 bars; in Infill, your notes stay as they "
    "are and only the bars you chose change.",
    recognise={"family": "latent-prior"},
    inference="pianoplay.models.latent_prior.trained:TrainedPrior",
    trainer="pianoplay.models.latent_prior.train",
    train_name="latent-prior",
    evaluator="pianoplay.models.latent_prior.evaluate:evaluate",
    reads="midi",
    tabs=("sample", "infill"),
    refuses={
        "latent": "a prior has no sliders of its own: its VAE's codes are moved there "
        "(pick vae-faithful).",
        "interpolate": "paths are drawn between two files' codes by the VAE itself "
        "(pick vae-faithful).",
        "generate": "a prior writes whole windows of codes, not token by token "
        "(Generate needs a language model).",
    },
    temperature=1.0,
    decode_temperature=0.0,
    via="segment-vae",
)
