"""Every shipped checkpoint gives the recorded outputs for a fixed seed, through the
registry by name (so moving code between modules cannot change what a model makes).

Recorded 2026-12-05 before issue 17's move (families in folders of their own): a
checksum of the uint8 rolls of each call below. Re-record only when a model's output is
meant to change, and say why in the commit.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from pianoplay.models.registry import Registry
from pianoplay.paths import ASSETS_DIR

RECORDED = {  # checkpoint -> call -> checksum (a language model: one call per strategy)
    "chord-lstm-classical": {
        "sample": "ecb1df8d2fe87856",
        "top-p": "75c91b90f7e9d7bc",
        "beam": "8a0d8d037b0e23cf",
    },
    "chord-lstm-classical-frames": {"sample": "b7d9b7d3ca3153c6", "top-k": "971e472edf5da40d"},
    "chord-lstm-nottingham": {"sample": "72d7e5962db00781", "greedy": "1f721c62e0662bb5"},
    "roll-lstm-nottingham": {"sample": "ea16761e2d0c209b"},
    "vae-faithful": {
        "decode": "0de2321f17dc683f",
        "sample": "7719b069020985e7",
        "encode": "ac0efdb5fd317935",
        "bars": "ba073358b96bb8dc",
        "slerp": "806577cca0194d9b",
        "walk": "a1a57263b6badecc",
    },
    "vae-nottingham": {
        "decode": "462054c7b038f666",
        "sample": "6a9d0d50455e7402",
        "encode": "87fc796aee5868e4",
        "slerp": "74f4ccdf67fb90ac",
        "walk": "31de528c633317d8",
    },
    "vae-nottingham-flat": {
        "decode": "8c29e88acbb42d2a",
        "sample": "1ea091b9e599c7d1",
        "encode": "43ec85ec729672eb",
        "slerp": "08f702795815cac9",
        "walk": "37708ab7a6665e59",
    },
    "vae-segment-lstm": {
        "decode": "557f510613a46384",
        "sample": "3c7271f2bb0dabd4",
        "encode": "447104dba9dc57b4",
        "bars": "2b4ee52cc6e4362f",
        "slerp": "724cf543f216ce3c",
        "walk": "8e2f277368b50011",
    },
}


def digest(rolls) -> str:
    h = hashlib.sha256()
    for roll in rolls:
        roll = np.ascontiguousarray(np.asarray(roll, dtype=np.uint8))
        h.update(str(roll.shape).encode())
        h.update(roll.tobytes())
    return h.hexdigest()[:16]


def outputs(model, name: str) -> dict[str, str]:
    """What each recorded call of ``name`` gives now."""
    if model.config["family"] in ("chord-lstm", "roll-lstm"):
        return {
            strategy: digest(
                model.generate(
                    n=2,
                    steps=24,
                    strategy=strategy,
                    seed=5,
                    temperature=0.9,
                    top_k=5,
                    top_p=0.9,
                    beam_width=2,
                )
            )
            for strategy in RECORDED[name]
        }
    tune = sorted(ASSETS_DIR.glob("*.mid"))[0]
    if hasattr(model, "prior_z"):  # one code per segment
        z = model.prior_z(2, seed=11)
    else:
        import torch

        z = torch.randn(2, model.latent_dim, generator=torch.Generator().manual_seed(11)).numpy()
    got = {
        "decode": digest(model.decode(z, greedy=True)),
        "sample": digest(model.sample(2, temperature=0.8, seed=1, steps=32)),
    }
    enc = model.encode(str(tune))
    got["encode"] = digest([enc.roll, model.decode(np.asarray(enc.z)[None], greedy=True)[0]])
    other = model.encode(str(sorted(ASSETS_DIR.glob("*.mid"))[1]))
    for mode in model.interpolation_modes:
        got[mode] = digest(model.interpolate(enc, other, 4, greedy=True, mode=mode))
    moved = model.apply(enc.z, {"polyphony": 1.0, "pc1": 1.0})
    got["walk"] = digest(model.decode(np.asarray(moved)[None], greedy=True))
    return got


@pytest.fixture(scope="module")
def registry():
    return Registry(device="cpu")


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_shipped_checkpoint_gives_the_recorded_outputs(registry, name):
    if name not in registry.names():
        pytest.skip(f"the shipped checkpoint {name} is not installed")
    assert outputs(registry.load(name), name) == RECORDED[name]


def test_every_shipped_checkpoint_is_recorded(registry):
    recorded_families = {"music-vae", "segment-vae", "chord-lstm", "roll-lstm"}  # newer ones
    shipped = {i.name for i in registry.list() if i.family in recorded_families}  # record theirs
    assert shipped <= set(RECORDED)


if __name__ == "__main__":  # print the outputs to record
    reg = Registry(device="cpu")
    for n in sorted(RECORDED):
        print(f"    {n!r}: {outputs(reg.load(n), n)!r},")
