"""The model registry: checkpoint folders discovered on disk, loaded lazily.

The registry is data: it lists ``checkpoints/*/config.json`` and builds
nothing until a model is asked for. Loaded models are cached; loading is
thread-safe (the Gradio server calls from worker threads).
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pianoplay.errors import CheckpointError
from pianoplay.models.checkpoint import CONFIG, WEIGHTS, read_config
from pianoplay.paths import CHECKPOINTS_DIR

# family -> "module:Class" with a classmethod from_checkpoint(folder, device)
LOADERS = {
    "chord-lstm": "pianoplay.models.lm.trained:TrainedLM",
    "roll-lstm": "pianoplay.models.lm.trained:TrainedLM",
    "vae": "pianoplay.models.vae.trained:TrainedVAE",
}
# config["model"]["kind"] -> loader, for families with more than one model class
KIND_LOADERS = {
    "segment": "pianoplay.models.vae.segment_trained:TrainedSegmentVAE",
}


def loader_of(config: dict) -> str:
    """The "module:Class" that loads a checkpoint with this config.json."""
    kind = (config.get("model") or {}).get("kind")
    if kind is not None:
        if kind not in KIND_LOADERS:
            raise CheckpointError(f"unknown model kind {kind!r} (known: "
                                  f"{', '.join(sorted(KIND_LOADERS))}).")
        return KIND_LOADERS[kind]
    return LOADERS[config["family"]]


@dataclass(frozen=True)
class CheckpointInfo:
    """What the registry knows about a checkpoint without loading it."""

    name: str
    family: str
    path: Path
    config: dict[str, Any] = field(repr=False)

    @property
    def data(self) -> str:
        return str(self.config.get("data", {}).get("name", "?"))

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.config.get("metrics", {}))

    @property
    def representation(self) -> dict[str, Any]:
        return dict(self.config.get("representation", {}))

    def card(self) -> str:
        """The model card (README.md beside the config), or a summary of the config."""
        readme = self.path / "README.md"
        if readme.is_file():
            return readme.read_text()
        lines = [f"### {self.name}", f"family: {self.family}", f"data: {self.data}"]
        lines += [f"- {k}: {v}" for k, v in self.metrics.items()]
        return "\n".join(lines)


class Registry:
    """Checkpoints under ``root`` (default ``checkpoints/``), loaded on first use."""

    def __init__(self, root: str | Path | None = None, device: str | None = None) -> None:
        self.root = Path(root) if root is not None else CHECKPOINTS_DIR
        self._device_arg = device
        self._device = None
        if device not in (None, "", "auto"):
            self._device = self._pick(device)  # a bad --device fails now, not at first load
        self._cache: dict[Path, Any] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _pick(device: str | None):
        from pianoplay.device import pick_device  # imports torch: only when a model is needed

        return pick_device(device)

    @property
    def device(self):
        """The torch device models load on (decided once, on first use)."""
        if self._device is None:
            self._device = self._pick(self._device_arg)
        return self._device

    def list(self, family: str | None = None) -> list[CheckpointInfo]:
        """Every valid checkpoint folder under ``root``, sorted by name."""
        infos = []
        for cfg in sorted(self.root.glob(f"*/{CONFIG}")):
            try:
                infos.append(self._info(cfg.parent))
            except CheckpointError:
                continue  # incomplete folders are not offered
        return [i for i in infos if family is None or i.family == family]

    def names(self, family: str | None = None) -> list[str]:
        return [info.name for info in self.list(family)]

    def info(self, name_or_path: str | Path) -> CheckpointInfo:
        return self._info(self._resolve(name_or_path))

    def load(self, name_or_path: str | Path):
        """The loaded model (``TrainedLM`` or ``TrainedVAE``), cached."""
        folder = self._resolve(name_or_path)
        with self._lock:
            if folder not in self._cache:
                info = self._info(folder)
                module_name, cls_name = loader_of(info.config).split(":")
                cls = getattr(importlib.import_module(module_name), cls_name)
                self._cache[folder] = cls.from_checkpoint(folder, device=self.device)
            return self._cache[folder]

    def _resolve(self, name_or_path: str | Path) -> Path:
        path = Path(name_or_path)
        if path.is_dir():
            return path.resolve()
        folder = self.root / str(name_or_path)
        if (folder / CONFIG).is_file():
            return folder.resolve()
        known = ", ".join(self.names()) or "none"
        raise CheckpointError(f"unknown checkpoint {str(name_or_path)!r}; available: {known}.")

    @staticmethod
    def _info(folder: Path) -> CheckpointInfo:
        config = read_config(folder)
        if config["family"] not in LOADERS:
            raise CheckpointError(f"{folder}: unknown family {config['family']!r}.")
        if not (folder / WEIGHTS).is_file():
            raise CheckpointError(
                f"{folder} has no {WEIGHTS}; only safetensors weights are loaded."
            )
        return CheckpointInfo(config.get("name", folder.name), config["family"], folder, config)
