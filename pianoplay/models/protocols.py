"""What the app, the CLI and the benches may call on a loaded model.

The registry loads a checkpoint with the ``inference`` class its family declares
(:mod:`pianoplay.models.families`); every such class offers :class:`TrainedModel`, and
what its family serves of the rest. Callers ask the checkpoint's declaration what it
serves (``CheckpointInfo.tabs``, ``.strategies``; never ``hasattr`` or a family's name).

Rolls are numpy arrays on the model's own grid (``representation``): ``(T, 88)``
uint8, or ``(T, 88, 2)`` with an onset channel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import torch

    from pianoplay.music.representation import Representation


@runtime_checkable
class TrainedModel(Protocol):
    family: str  # its family's name (FamilySpec.name)
    config: dict[str, Any]  # the checkpoint's config.json

    @property
    def device(self) -> torch.device: ...

    @property
    def steps_per_quarter(self) -> int: ...

    @property
    def steps_per_bar(self) -> int: ...

    def to_midi(self, roll: np.ndarray, tempo: float = 120.0, program: int = 0, **kw): ...


@runtime_checkable
class LatentModel(TrainedModel, Protocol):
    """A VAE: ``sample`` from the prior, ``encode`` a file, ``decode`` and ``interpolate``
    latents, ``latent_axes`` and ``apply`` for the sliders."""

    representation: Representation
    interpolation_modes: tuple[str, ...]  # the paths of ``interpolate``; the first is default

    def prior_z(self, n: int = 1, seed: int | None = None) -> np.ndarray: ...

    def sample(self, n: int = 1, temperature: float = 1.0, seed: int | None = None,
               steps: int | None = None) -> list[np.ndarray]: ...

    def load(self, source): ...

    def encode(self, source, bar: int | None = None): ...

    def encode_many(self, sources) -> list: ...

    def decode(self, z, temperature: float | None = None, seed: int | None = None,
               steps: int | None = None, greedy: bool = False) -> list[np.ndarray]: ...

    def interpolate(self, a, b, steps: int = 8, temperature: float | None = None,
                    seed: int | None = None, greedy: bool = False,
                    mode: str = ...) -> list[np.ndarray]: ...

    def latent_axes(self): ...

    def apply(self, z, amounts: dict[str, float]) -> np.ndarray: ...


@runtime_checkable
class LanguageModel(TrainedModel, Protocol):
    """A chord- or roll-LSTM: ``generate`` with a decoding strategy, exact ``log_prob``."""

    def generate(self, n: int = 1, steps: int = 128, strategy: str = "sample",
                 temperature: float = 1.0, **options) -> list[np.ndarray]: ...

    def log_prob(self, rolls) -> Any: ...
