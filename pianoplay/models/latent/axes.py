"""Latent axes of a trained VAE: principal directions, attribute vectors, a 2-D map, and
their file ``latent.json`` beside the checkpoint.

MusicVAE's recipe for attribute vectors: encode many training windows, rank
them by an attribute, and take the mean posterior mean of the top quartile
minus that of the bottom quartile. Adding ``amount * vector`` to a z raises the
attribute (``amount = 1`` moves a window from the bottom to the top quartile
on average).

A decoder that maps z alone to every key's state probabilities (the faithful segment VAE)
can follow its own steepest path instead (:func:`soft_attributes`): a slider listed in
``LatentAxes.attribute_walk`` walks each segment's z along the gradient of a differentiable
attribute of the decoded segment, with the gradients of the attributes it holds
(``ATTRIBUTE_HOLD``) projected out; see :func:`pianoplay.models.latent.walk.walk_attribute`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pianoplay.errors import CheckpointError
from pianoplay.models.checkpoint import read_config, write_config

LATENT_FILE = "latent.json"  # a checkpoint's latent axes, named by config["files"]["latent"]

ATTRIBUTES = ("note_density", "mean_pitch", "polyphony", "rhythmic_activity")
ATTRIBUTE_DOC = {
    "note_density": "note onsets per frame",
    "mean_pitch": "mean MIDI pitch of sounding keys (register)",
    "polyphony": "mean number of keys sounding in non-silent frames",
    "rhythmic_activity": "fraction of frames where at least one note starts",
}
# What each attribute's walk holds still: how full the segment is, and the other texture
# measure and the register (more onsets should not mean more keys at once, nor a higher
# register; a higher register should not mean more or fewer notes).
ATTRIBUTE_HOLD = {
    "note_density": ("sounding", "polyphony", "mean_pitch"),
    "mean_pitch": ("sounding", "polyphony", "rhythmic_activity", "note_density"),
    "polyphony": ("sounding", "rhythmic_activity"),
    "rhythmic_activity": ("sounding", "polyphony"),
}


def onsets(roll: np.ndarray) -> np.ndarray:
    """(T, 88) or (T, 88, 2) -> (T, 88) bool: a note starts (without an onset channel a
    held key starts once; with one, a repeated note starts again)."""
    roll = np.asarray(roll)
    marked = roll[..., 1] > 0 if roll.ndim == 3 else np.zeros(roll.shape, bool)
    on = (roll[..., 0] > 0) | marked if roll.ndim == 3 else roll > 0
    before = np.zeros_like(on)
    before[1:] = on[:-1]
    return on & (~before | marked)


def attributes(roll: np.ndarray) -> dict[str, float]:
    """The four attributes of a (T, 88) or (T, 88, 2) roll (see ``ATTRIBUTE_DOC``)."""
    roll = np.asarray(roll)
    starts = onsets(roll)
    on = ((roll[..., 0] > 0) | (roll[..., 1] > 0)) if roll.ndim == 3 else roll > 0
    sounding = on.sum(1)
    keys = np.nonzero(on)[1]
    return {
        "note_density": float(starts.sum() / max(len(on), 1)),
        "mean_pitch": float(keys.mean() + 21) if len(keys) else float("nan"),
        "polyphony": float(sounding[sounding > 0].mean()) if (sounding > 0).any() else 0.0,
        "rhythmic_activity": float(starts.any(1).mean()) if len(on) else 0.0,
    }


def soft_attributes(probs):
    """Differentiable attributes of decoded segments: state probabilities (N, L, 88, 3)
    (off, onset, hold) torch tensor -> name -> (N,) tensor. Expected values where a sum
    is counted (onsets, keys), and "at least one key" as 1 - prod(1 - p) over the keys;
    ``sounding`` is the share of frames with a key down."""
    import torch  # deferred: the app's latent map reads this module before torch is needed

    onset, down = probs[..., 1], probs[..., 1] + probs[..., 2]  # (N, L, K)
    any_onset = 1 - torch.exp(torch.log1p(-onset.clamp(max=1 - 1e-6)).sum(-1))  # (N, L)
    any_down = 1 - torch.exp(torch.log1p(-down.clamp(max=1 - 1e-6)).sum(-1))
    pitch = torch.arange(21, 21 + probs.shape[2], dtype=probs.dtype, device=probs.device)
    return {
        "note_density": onset.sum((1, 2)) / probs.shape[1],
        "mean_pitch": (down * pitch).sum((1, 2)) / down.sum((1, 2)).clamp(min=1e-3),
        "polyphony": down.sum((1, 2)) / any_down.sum(1).clamp(min=1e-3),
        "rhythmic_activity": any_onset.mean(1),
        "sounding": any_down.mean(1),
    }


@dataclass
class LatentAxes:
    """What the sliders and the map of the app need.

    ``directions`` (K, D) are unit principal directions of the training-set
    posterior means, by decreasing variance, with ``std`` (K,) their standard
    deviations (slider units); ``attributes`` maps a name to a (D,) vector;
    ``map_xy`` (M, 2) are training encodings projected with :meth:`project`,
    ``map_values`` the attribute values of those windows (for colouring).
    ``attribute_walk`` maps an attribute to ``{"unit": u, "substep": s}`` where its slider
    at ``amount`` walks ``|amount| * u`` in latent units along the decoder's steepest path
    of the attribute, ``s`` at a time, instead of adding amount x its vector.
    """

    mean: np.ndarray  # (D,)
    directions: np.ndarray  # (K, D)
    std: np.ndarray  # (K,)
    explained_variance: np.ndarray  # (K,) fraction of the total variance
    attributes: dict[str, np.ndarray]  # name -> (D,)
    attribute_stats: dict[str, dict[str, float]] = field(default_factory=dict)
    map_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # (M, 2)
    map_values: dict[str, list[float]] = field(default_factory=dict)
    attribute_walk: dict[str, dict[str, float]] = field(default_factory=dict)
    # attribute -> {"steps_per_unit": k}: the slider moves the decoded music k scale steps
    # per unit of amount and encodes it again (``latent/scale.py``; the register)
    attribute_scale: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Every name ``vector`` accepts: ``pc1..pcK`` then the attributes."""
        return [f"pc{i + 1}" for i in range(len(self.directions))] + list(self.attributes)

    def vector(self, name: str) -> np.ndarray:
        """(D,) vector for ``name``: a principal direction scaled to one std, or an
        attribute vector."""
        if name in self.attributes:
            return self.attributes[name]
        if (
            name.startswith("pc")
            and name[2:].isdigit()
            and 1 <= int(name[2:]) <= len(self.directions)
        ):
            k = int(name[2:]) - 1
            return self.directions[k] * self.std[k]
        raise KeyError(f"unknown latent axis {name!r}; known: {', '.join(self.names)}")

    def project(self, z: np.ndarray) -> np.ndarray:
        """2-D map coordinates of z (D,) -> (2,) or (N, D) -> (N, 2): the first two
        principal components in units of their std."""
        z = np.asarray(z, dtype=np.float64)
        return (z - self.mean) @ self.directions[:2].T / self.std[:2]

    def to_json(self) -> dict:
        return {
            "kind": "vae-latent-axes",
            "mean": self.mean.tolist(),
            "directions": self.directions.tolist(),
            "std": self.std.tolist(),
            "explained_variance": self.explained_variance.tolist(),
            "attributes": {k: v.tolist() for k, v in self.attributes.items()},
            "attribute_doc": ATTRIBUTE_DOC,
            "attribute_stats": self.attribute_stats,
            "map_xy": np.round(self.map_xy, 4).tolist(),
            "map_values": self.map_values,
            **({"attribute_walk": self.attribute_walk} if self.attribute_walk else {}),
            **({"attribute_scale": self.attribute_scale} if self.attribute_scale else {}),
        }

    @classmethod
    def from_json(cls, obj: dict) -> LatentAxes:
        arr = lambda x: np.asarray(x, dtype=np.float64)  # noqa: E731
        walk = obj.get("attribute_walk", {})
        for name, settings in walk.items():
            if name not in ATTRIBUTES or set(settings) != {"unit", "substep"}:
                raise ValueError(
                    f"attribute_walk: {name!r} must be one of {', '.join(ATTRIBUTES)} with "
                    f"exactly unit and substep, not {sorted(settings)}"
                )
        scale = obj.get("attribute_scale", {})
        for name, settings in scale.items():
            if name != "mean_pitch" or set(settings) != {"steps_per_unit"}:
                raise ValueError(f"attribute_scale: only mean_pitch, with exactly "
                                 f"steps_per_unit, not {name!r}: {sorted(settings)}")
        return cls(
            arr(obj["mean"]),
            arr(obj["directions"]),
            arr(obj["std"]),
            arr(obj["explained_variance"]),
            {k: arr(v) for k, v in obj["attributes"].items()},
            obj.get("attribute_stats", {}),
            arr(obj.get("map_xy", np.zeros((0, 2)))).reshape(-1, 2),
            obj.get("map_values", {}),
            {name: {k: float(v) for k, v in settings.items()} for name, settings in walk.items()},
            {name: {k: float(v) for k, v in settings.items()} for name, settings in scale.items()},
        )


def fit_axes(
    mu: np.ndarray, rolls: list[np.ndarray], k: int = 8, map_points: int = 1500, seed: int = 0
) -> LatentAxes:
    """Axes from posterior means ``mu`` (N, D) of the windows ``rolls`` (N of (T, 88))."""
    mu = np.asarray(mu, dtype=np.float64)
    mean = mu.mean(0)
    _, s, vt = np.linalg.svd(mu - mean, full_matrices=False)
    var = s**2 / max(len(mu) - 1, 1)
    k = min(k, len(var))
    # Sign convention: each direction points to where the first coordinate grows,
    # so axes do not flip between runs that differ only in numerics.
    signs = np.sign(vt[:k, np.argmax(np.abs(vt[:k]), axis=1)].diagonal())
    directions = vt[:k] * signs[:, None]
    axes = LatentAxes(mean, directions, np.sqrt(var[:k]), var[:k] / var.sum(), {})
    values = {name: np.array([attributes(r)[name] for r in rolls]) for name in ATTRIBUTES}
    for name, v in values.items():
        ok = np.isfinite(v)
        lo, hi = np.quantile(v[ok], [0.25, 0.75])
        top, bottom = ok & (v >= hi), ok & (v <= lo)
        axes.attributes[name] = mu[top].mean(0) - mu[bottom].mean(0)
        axes.attribute_stats[name] = {
            "q25": float(lo),
            "q75": float(hi),
            "mean": float(v[ok].mean()),
            "top_mean": float(v[top].mean()),
            "bottom_mean": float(v[bottom].mean()),
        }
    pick = np.random.default_rng(seed).permutation(len(mu))[:map_points]
    axes.map_xy = axes.project(mu[pick])
    axes.map_values = {name: [round(float(x), 4) for x in v[pick]] for name, v in values.items()}
    return axes


def missing_axes(folder: str | Path, how_to_fit: str) -> CheckpointError:
    """The error of a checkpoint without ``latent.json``, saying how to fit it."""
    return CheckpointError(f"{folder} has no {LATENT_FILE}; {how_to_fit}.")


def save_axes(folder: str | Path, axes: LatentAxes, provenance: dict) -> dict:
    """Write ``latent.json`` beside a checkpoint and name it in its ``config.json``
    (``files.latent``, and ``latent_axes``: what it was fitted on); returns the config."""
    folder = Path(folder)
    (folder / LATENT_FILE).write_text(json.dumps(axes.to_json()) + "\n")
    config = read_config(folder)
    config.setdefault("files", {})["latent"] = LATENT_FILE
    config["latent_axes"] = provenance
    write_config(folder, config)
    return config
