"""The latent prior's training options (torch-free: the CLI reads them to build its parser)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pianoplay.config_io import from_dict, to_dict


@dataclass
class PriorTrainConfig:
    vae: str = "vae-faithful"
    mix: list[float] = field(default_factory=lambda: [0.5, 0.5])  # per style of model.styles
    shift_min: int = -5  # transpositions the codes are drawn at
    shift_max: int = 6
    batch: int = 64
    lr: float = 5e-4
    warmup_steps: int = 500
    max_steps: int = 40000
    eval_every: int = 1000
    valid_windows: int = 256
    max_minutes: float = 40.0
    threads: int = 1
    seed: int = 0

    def to_dict(self) -> dict:
        return to_dict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "train") -> PriorTrainConfig:
        return from_dict(cls, d, where)
