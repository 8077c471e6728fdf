"""The shipped faithful VAE (checkpoints/vae-faithful) on real held-out tunes: it gives the
user's notes back, and each attribute slider moves its attribute the way it says."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pianoplay.models.registry import Registry
from pianoplay.models.vae.latent import attributes
from pianoplay.music import measures
from pianoplay.music.midi_write import write_midi
from pianoplay.ui.actions import Actions

torch.set_num_threads(1)
SLIDERS = {"density": "note_density", "register": "mean_pitch", "polyphony": "polyphony",
           "rhythm": "rhythmic_activity"}


@pytest.fixture(scope="module")
def vae():
    return Registry(device="cpu").load("vae-faithful")


def test_encode_decode_gives_five_test_tunes_back(vae, nottingham_test_files, tmp_path):
    """Encode (as the app does), decode, write the MIDI the app writes (back in the file's
    key and metre) and score it against the whole file: onset F1 above 0.9 on average over
    the first five test tunes, none below 0.8 (fast hornpipes lose some repeated notes)."""
    scores = []
    for i, f in enumerate(nottingham_test_files[:5]):
        enc = vae.encode(str(f))
        midi = write_midi(vae.to_midi(vae.reconstruct(enc), source=enc), tmp_path / f"{i}.mid")
        scores.append(measures.onset_f1(midi.read_bytes(), str(f), max_transpose=0)["f1"])
    assert np.mean(scores) > 0.9 and min(scores) > 0.8, scores


def test_attribute_sliders_move_their_attribute(vae, nottingham_test_files):
    """On real encodings, each slider at +2 raises its attribute over the slider at -2."""
    actions = Actions(Registry(device="cpu"))
    starts = [vae.encode(str(f)) for f in nottingham_test_files[20:24]]
    for slider, attribute in SLIDERS.items():
        low, high = [], []
        for start in starts:
            for amount, out in ((-2.0, low), (2.0, high)):
                z = actions.latent_z("vae-faithful", 1, {slider: amount}, start)
                roll = vae.decode(z)[0][: len(start.roll)]
                out.append(attributes(roll)[attribute])
        assert np.nanmean(high) > np.nanmean(low), (slider, low, high)
